"""Google's released SimCLR v1/v2 TF2 checkpoints: their names and where they are.

`keras_simclr.pretrained.load` reads them (network access to the bucket
needed); nothing is fetched at import.

>>> len(RELEASED_MODELS)
94
>>> RELEASED_MODELS["simclrv2/r50_1x_sk1/pretrained"]
'gs://simclr-checkpoints-tf2/simclrv2/pretrained/r50_1x_sk1'
"""

import types

__all__ = ["BUCKET", "RELEASED_MODELS"]

#: Google's bucket of the TF2 checkpoints (the TF1 ones are elsewhere).
BUCKET = "gs://simclr-checkpoints-tf2"
_V2_ARCHITECTURES = (
    "r50_1x_sk0",
    "r50_1x_sk1",
    "r50_2x_sk0",
    "r50_2x_sk1",
    "r101_1x_sk0",
    "r101_1x_sk1",
    "r101_2x_sk0",
    "r101_2x_sk1",
    "r152_1x_sk0",
    "r152_1x_sk1",
    "r152_2x_sk0",
    "r152_2x_sk1",
    "r152_3x_sk1",
)  # Table 1 of the SimCLRv2 paper, as the reference's README lists them.
_V2_STAGES = (
    "pretrained",
    "finetuned_1pct",
    "finetuned_10pct",
    "finetuned_100pct",
    "supervised",
    "distill_1pct",
    "distill_10pct",
)

RELEASED_MODELS = types.MappingProxyType(
    {
        **{
            f"simclrv2/{arch}/{stage}": f"{BUCKET}/simclrv2/{stage}/{arch}"
            for arch in _V2_ARCHITECTURES
            for stage in _V2_STAGES
        },
        **{
            f"simclrv1/r50_{w}/pretrained": f"{BUCKET}/simclrv1/pretrain/{w}"
            for w in ("1x", "2x", "4x")
        },
    }
)
"""Released model name -> its directory in Google's TF2 bucket.

`simclrv2/<arch>/<stage>` with arch `r{50,101,152}_{1,2,3}x_sk{0,1}` (the
13 architectures of the SimCLRv2 paper) and stage `pretrained`,
`finetuned_{1,10,100}pct`, `supervised`, `distill_{1,10}pct`;
`simclrv1/r50_{1,2,4}x/pretrained`.
"""
