"""``export-script CONFIG.json [-o FILE]``: the run as a standalone Keras script."""

import sys

from engine.cli import output_file, read_json


def add_parser(sub):
    p = sub.add_parser(
        "export-script",
        help="print a standalone Keras script that reproduces a config's run",
        description="Print (or write) a script that imports only keras, numpy and the "
        "standard library and trains exactly as HP Lab would: same data, weights, batches "
        "and updates.",
    )
    p.add_argument("config", help="config JSON file ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the script here, not stdout")


def run(args):
    # Imported here so that `python -m engine --help` stays as light as the other commands.
    from engine.export_script import export_script

    text = export_script(read_json(args.config))  # ConfigError → exit 2, field-named
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with output_file(args.output, "--output") as f:
        f.write(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
