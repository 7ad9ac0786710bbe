"""monossl: learn visual features from a single image (Asano, Rupprecht & Vedaldi, ICLR 2020).

The flow reads as one line: source images -> patches (`monossl.data`) -> trunk (`monossl.nets`)
-> pretraining (`monossl.methods`) -> linear probes (`monossl.probes`) -> tables (`monossl.reproduce`).
"""
from monossl.errors import UserError

__version__ = "0.1.0"
__all__ = ["UserError", "__version__"]
