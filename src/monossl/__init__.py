"""monossl: learn visual features from a single image (Asano, Rupprecht & Vedaldi, ICLR 2020).

The flow reads as one line: source images -> patches (`monossl.data`) -> trunk (`monossl.nets`)
-> pretraining (`monossl.methods`) -> linear probes (`monossl.probes`) -> tables (`monossl.reproduce`).

Threads: OpenMP worker threads that find no free core spin by default, and a second busy process
(another monossl job, a browser) then slows everything ten-fold or more (two concurrent `generate`
runs of 5,000 patches: 50.6 s with spinning threads, 4.3 s without). monossl therefore asks OpenMP
to let idle threads sleep (`OMP_WAIT_POLICY=PASSIVE`) unless the variable is already set; it takes
effect when monossl is imported before torch (always, through the `monossl` command).
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from monossl.errors import UserError  # noqa: E402

__version__ = "0.2.0"
API = ("generate", "pretrain", "distill", "probe", "export")  # and monossl.api.reproduce (`monossl.reproduce` is the package)


def __getattr__(name):  # the Python API (monossl.api), imported when first used
    if name in API:
        from monossl import api

        return getattr(api, name)
    raise AttributeError(name)


__all__ = ["UserError", "__version__", *API]
