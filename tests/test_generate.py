"""`monossl generate`: outputs, resume, worker determinism, decoding of odd images, and bad input."""
import json
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from monossl.cli import main
from monossl.data.patches import PatchDataset, load_patch_dir, materialise
from monossl.data.augment import AugmentConfig
from monossl.data.sampler import PatchSampler
from monossl.data.sources import decode_image


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_generate_npy_writes_memmappable_array_and_meta(rgb_image, tmp_path):
    out = tmp_path / "p"
    assert run_cli("generate", rgb_image, "--size", 16, "--count", 50, "--out", out, "--seed", 3) == 0
    arr = load_patch_dir(out)
    assert arr.shape == (50, 16, 16, 3) and arr.dtype == np.uint8 and isinstance(arr, np.memmap)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["augment"]["beta"] == 1e-3 and meta["sources"] == [str(rgb_image)]
    sampler = PatchSampler([decode_image(rgb_image)], AugmentConfig(size=16), seed=3)
    assert np.array_equal(arr, sampler.patches(np.arange(50)))


def test_generate_png_layout(rgb_image, tmp_path):
    out = tmp_path / "p"
    assert run_cli("generate", rgb_image, "--size", 8, "--count", 5, "--out", out, "--format", "png") == 0
    files = sorted((out / "train" / "patches").glob("*.png"))
    assert [f.name for f in files] == [f"{i:07d}.png" for i in range(5)]
    assert np.array_equal(load_patch_dir(out)[2], np.asarray(Image.open(files[2])))


def test_workers_give_the_same_bytes(rgb_image, tmp_path):
    sampler = PatchSampler([decode_image(rgb_image)], AugmentConfig(size=12), seed=1)
    materialise(sampler, 300, tmp_path / "a", workers=0, chunk=64)
    materialise(sampler, 300, tmp_path / "b", workers=2, chunk=37)
    assert (tmp_path / "a" / "patches.npy").read_bytes() == (tmp_path / "b" / "patches.npy").read_bytes()


def test_dataloader_workers_give_the_same_batches(rgb_image):
    sampler = PatchSampler([decode_image(rgb_image)], AugmentConfig(size=12), seed=1)
    data = PatchDataset(sampler, 40)
    batches = [torch.cat(list(torch.utils.data.DataLoader(data, batch_size=8, num_workers=w))) for w in (0, 2)]
    assert torch.equal(batches[0], batches[1])
    assert batches[0].min() >= -1 and batches[0].max() <= 1 and batches[0].shape == (40, 3, 12, 12)


def test_endless_dataset_moves_to_fresh_patches(rgb_image):
    data = PatchDataset(PatchSampler([decode_image(rgb_image)], AugmentConfig(size=8)), 4, endless=True)
    first = data[0]
    data.set_epoch(1)
    assert not torch.equal(first, data[0])


def test_interrupted_run_resumes_to_the_same_bytes(rgb_image, tmp_path, monkeypatch):
    sampler = PatchSampler([decode_image(rgb_image)], AugmentConfig(size=8), seed=0)
    materialise(sampler, 200, tmp_path / "full", chunk=32)

    import monossl.data.patches as patches_module
    real = patches_module._render_spans

    def dies_after_two(*args):
        for i, block in enumerate(real(*args)):
            if i == 2:
                raise KeyboardInterrupt
            yield block

    monkeypatch.setattr(patches_module, "_render_spans", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        materialise(sampler, 200, tmp_path / "cut", chunk=32)
    assert not (tmp_path / "cut" / "patches.npy").exists() and not (tmp_path / "cut" / "meta.json").exists()
    monkeypatch.setattr(patches_module, "_render_spans", real)
    assert run_cli("generate", rgb_image, "--size", 8, "--count", 200, "--out", tmp_path / "cut") == 2  # not empty
    materialise(sampler, 200, tmp_path / "cut", chunk=32, resume=True)
    assert (tmp_path / "cut" / "patches.npy").read_bytes() == (tmp_path / "full" / "patches.npy").read_bytes()


def png_header_only(path, width, height):
    """A PNG whose header claims a huge size (decompression bomb) without the pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def bad_inputs(tmp_path, rgb_image):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    jpeg = tmp_path / "full.jpg"
    Image.open(rgb_image).save(jpeg, quality=90)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(jpeg.read_bytes()[: len(jpeg.read_bytes()) // 2])
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    bomb = tmp_path / "bomb.png"
    png_header_only(bomb, 30000, 30000)
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    good = str(rgb_image)
    return [
        ([tmp_path / "missing.png"], [], "no such file"),
        ([text], [], "not a readable image"),
        ([truncated], [], "truncated"),
        ([empty], [], "empty file"),
        ([empty_dir], [], "no images"),
        ([bomb], [], "pixel limit"),
        ([good], ["--beta", "0"], "--beta"),
        ([good], ["--beta", "1.5"], "--beta"),
        ([good], ["--gamma", "1.5"], "--gamma"),
        ([good], ["--gamma", "0"], "--gamma"),
        ([good], ["--size", "0"], "--size"),
        ([good], ["--count", "0", "--out", str(tmp_path / "o2")], "--count"),
        ([good], ["--out", str(a_file)], "is a file"),
    ]


def test_bad_input_gives_one_line_exit_2_and_writes_nothing(tmp_path, rgb_image, capsys):
    for sources, extra, message in bad_inputs(tmp_path, rgb_image):
        out = tmp_path / "out"
        argv = ["generate", *map(str, sources), "--count", "4"] + (extra if "--out" in extra else extra + ["--out", str(out)])
        assert main(argv) == 2, (sources, extra)
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err, err
        assert not out.exists() and not (tmp_path / "o2").exists()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "I;16"])
def test_odd_modes_decode_to_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    if mode == "I;16":
        img = Image.fromarray((np.arange(600).reshape(20, 30) * 100).astype(np.uint16))
        path = tmp_path / "deep.png"
    elif mode == "CMYK":
        img, path = rgb.convert("CMYK"), tmp_path / "cmyk.jpg"
    elif mode == "P":
        img, path = rgb.quantize(16), tmp_path / "pal.png"
    else:
        img, path = rgb.convert(mode), tmp_path / f"{mode}.png"
    img.save(path)
    out = decode_image(path)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    if mode == "I;16":  # scaled from 16 bits, not clipped to white
        assert out[0, 0, 0] == 0 and 100 < out[-1, -1, 0] <= 255 and len(np.unique(out)) > 100


def test_alpha_is_composited_onto_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red but fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert (decode_image(tmp_path / "a.png") == 255).all()


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes())
    assert decode_image(tmp_path / "r.jpg").shape == (40, 20, 3)


def test_shared_images_generate(shared_images, tmp_path):
    assert run_cli("generate", shared_images / "image_b.png", "--size", 32, "--count", 64, "--out", tmp_path / "b") == 0
    assert load_patch_dir(tmp_path / "b").shape == (64, 32, 32, 3)
