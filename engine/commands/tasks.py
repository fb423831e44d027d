"""``tasks``: the catalog with each task's document defaults."""

from engine.cli import print_json
from engine.config import defaults_for
from engine.spec.tasks import TASKS


def add_parser(sub):
    p = sub.add_parser("tasks", help="list the task catalog")
    p.add_argument("--json", action="store_true", help="print JSON")


def catalog() -> list[dict]:
    return [
        {
            "id": t.id,
            "title": t.title,
            "source": t.source,
            "description": t.description,
            "input_shape": list(t.input_shape),
            "outputs": [
                {"name": h.name, "kind": h.kind, "units": h.units, "activation": h.activation}
                for h in t.heads
            ],
            "random_targets_by_default": t.random_targets_by_default,
            "defaults": defaults_for(t.id),
        }
        for t in TASKS.values()
    ]


def run(args):
    items = catalog()
    if args.json:
        print_json(items)
        return 0
    for t in items:
        d = t["defaults"]
        opt = d["optimizer"]["name"]
        print(
            f"{t['id']:<16} {t['title']}\n{'':<16} defaults: {opt} lr={d['learning_rate']:g} "
            f"loss={_loss(d['loss'])} epochs={d['epochs']} batch={d['batch_size']} "
            f"precision={d['precision']}"
        )
    return 0


def _loss(loss):
    if "name" in loss:
        return loss["name"]
    return "+".join(v["name"] for v in loss.values())
