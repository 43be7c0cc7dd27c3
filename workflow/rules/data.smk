# Stage 1: datasets. Each dataset becomes one prepared cache (uint8 tensors + metadata) that the
# trainer loads in well under a second. Offline mirrors (config data.mirrors) are searched first.
#
# The cache is a checkpoint, and the train jobs take it as ancient() input plus its content
# checksum as a parameter (train.smk): a touched, deleted-and-prepared-again or re-prepared cache
# with the same content retrains nothing; a cache whose content changed retrains every cell with
# "Params have changed"; a damaged cache stops the workflow before any job runs (docs/RELIABILITY.md).

from dendritic.runio import IntegrityError, trained_data_checksum, verify_prepared_file


checkpoint prepare_dataset:
    output:
        data=f"{DATA}/{{dataset}}.pt",
        meta=f"{DATA}/{{dataset}}.json",
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    conda:
        "../../environment.yml"
    resources:
        mem_mb=8000,
    params:
        raw_dir=lambda wc: f"{DATA}/raw/{wc.dataset}",
        mirrors=config["data"]["mirrors"],
        download=config["data"]["download"],
    script:
        "../scripts/prepare_dataset.py"


_VERIFIED_CACHES = {}


def prepared_cache_checksum(path):
    """The content checksum of a prepared cache, after checking the file against the checksum
    recorded beside it (once per file version and process; ~0.1 s for Fashion-MNIST)."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED_CACHES:
        try:
            _VERIFIED_CACHES[key] = verify_prepared_file(path)["content_sha256"]
        except IntegrityError as err:
            raise WorkflowError(f"damaged dataset cache; nothing was run or deleted. {err}")
    return _VERIFIED_CACHES[key]


def prepared_cache(wildcards):
    """Input function: the dataset's verified cache, as ancient() (its mtime never retrains)."""
    path = checkpoints.prepare_dataset.get(dataset=wildcards.dataset).output.data
    prepared_cache_checksum(path)
    return ancient(path)


_CHECKED_PROVENANCE = set()


def prepared_checksum(wildcards):
    """Params function: the content checksum of the dataset's cache (what a cell is trained on).
    When it differs from the one the first finished cell of the dataset recorded, say so once."""
    path = checkpoints.prepare_dataset.get(dataset=wildcards.dataset).output.data
    checksum = prepared_cache_checksum(path)
    if wildcards.dataset not in _CHECKED_PROVENANCE:
        cell = RUN_DIR.format(**dict(wildcards.items()))
        trained = trained_data_checksum(f"{cell}/provenance.json")
        if trained is not None:
            _CHECKED_PROVENANCE.add(wildcards.dataset)
            if trained != checksum:
                logger.warning(
                    f"the content of {path} has changed since finished cells were trained on it "
                    f"(e.g. {cell}: sha256 {trained[:12]}…, now {checksum[:12]}…): every cell "
                    f"trained on the old data is trained again ('Params have changed')."
                )
    return checksum
