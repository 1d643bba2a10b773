"""COCO-style split: exact round trip, partial labels, pycocotools, error messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from perception.data.coco_reader import CocoDataset
from perception.data.coco_writer import write_split
from perception.data.sample import CATEGORIES, KEYPOINT_NAMES, SKELETON, Sample


def assert_labels_equal(read: Sample, written: Sample) -> None:
    for name in ("boxes", "category", "light_state", "occluded", "truncated", "keypoints"):
        expected, actual = getattr(written, name), getattr(read, name)
        if expected is None:
            assert actual is None, name
        else:
            assert actual.dtype == expected.dtype, name
            np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert (read.depth is None) == (written.depth is None)
    if written.depth is not None:
        assert np.abs(read.depth - written.depth).max() <= 1 / 512 + 1e-5
        np.testing.assert_array_equal(read.depth == 0, written.depth == 0)
    assert read.meta == written.meta
    assert read.image_id == written.image_id


def test_round_trip_png_is_exact(tmp_path, make_sample):
    samples = [make_sample(seed, num_objects=seed + 3, image_id=f"im{seed}") for seed in range(4)]
    write_split(samples, tmp_path, "train")
    dataset = CocoDataset(tmp_path, "train")
    assert len(dataset) == len(samples)
    for index, written in enumerate(samples):
        read = dataset[index]
        np.testing.assert_array_equal(read.image, written.image)
        assert_labels_equal(read, written)


def test_round_trip_jpg_keeps_labels(tmp_path, make_sample):
    written = make_sample(1, image_id="jpeg")
    write_split([written], tmp_path, "val", image_format="jpg")
    assert (tmp_path / "images" / "val" / "jpeg.jpg").is_file()
    read = CocoDataset(tmp_path, "val")[0]
    assert read.image.shape == written.image.shape
    assert_labels_equal(read, written)


def test_partial_labels_survive(tmp_path, make_sample):
    full = make_sample(2, image_id="full")
    image = full.image
    empty_boxes = Sample(
        image=image,
        boxes=np.zeros((0, 4), np.float32),
        category=np.zeros(0, np.int64),
        light_state=np.zeros(0, np.int64),
        occluded=np.zeros(0, bool),
        truncated=np.zeros(0, bool),
        image_id="empty",
    )
    unlabelled = Sample(image=image, image_id="unlabelled")
    depth_only = Sample(image=image, depth=full.depth, image_id="depth_only")
    boxes_no_keypoints = make_sample(3, image_id="boxes_only", with_keypoints=False)
    samples = [full, empty_boxes, unlabelled, depth_only, boxes_no_keypoints]
    path = write_split(samples, tmp_path, "mixed")
    entries = json.loads(path.read_text())["images"]
    assert [entry["labels"] for entry in entries] == [
        ["boxes", "keypoints", "depth"],
        ["boxes"],
        [],
        ["depth"],
        ["boxes", "depth"],
    ]
    dataset = CocoDataset(tmp_path, "mixed")
    for index, written in enumerate(samples):
        assert_labels_equal(dataset[index], written)
    assert dataset[1].num_objects == 0 and dataset[1].boxes is not None
    assert dataset[2].boxes is None


def test_pycocotools_loads_and_agrees(tmp_path, make_sample):
    samples = [
        make_sample(seed, num_objects=2 * seed + 1, image_id=f"c{seed}") for seed in range(3)
    ]
    path = write_split(samples, tmp_path, "train")
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == len(samples)
    assert [cat["name"] for cat in coco.loadCats(coco.getCatIds())] == list(CATEGORIES)
    (pedestrian,) = coco.loadCats(coco.getCatIds(catNms=["pedestrian"]))
    assert pedestrian["keypoints"] == list(KEYPOINT_NAMES)
    assert pedestrian["skeleton"] == [[a + 1, b + 1] for a, b in SKELETON]
    for image_id, sample in zip(coco.getImgIds(), samples, strict=True):
        annotation_ids = coco.getAnnIds(imgIds=[image_id])
        assert len(annotation_ids) == sample.num_objects
        for row, annotation in enumerate(coco.loadAnns(annotation_ids)):
            assert annotation["category_id"] == sample.category[row] + 1
            mask = coco.annToMask(annotation)
            assert mask.shape == (sample.height, sample.width)
            x1, y1, x2, y2 = sample.boxes[row]
            perimeter = 2 * ((x2 - x1) + (y2 - y1))
            assert abs(int(mask.sum()) - annotation["area"]) <= perimeter + 4
            if CATEGORIES[sample.category[row]] == "pedestrian":
                visible = int(np.count_nonzero(sample.keypoints[row, :, 2] > 0))
                assert annotation["num_keypoints"] == visible
    for category_index, name in enumerate(CATEGORIES):
        count = sum(int(np.sum(s.category == category_index)) for s in samples)
        assert len(coco.getAnnIds(catIds=coco.getCatIds(catNms=[name]))) == count


def test_traffic_light_state_only_on_lights(tmp_path, make_sample):
    sample = make_sample(4, num_objects=8)
    path = write_split([sample], tmp_path, "train")
    annotations = json.loads(path.read_text())["annotations"]
    for row, annotation in enumerate(annotations):
        is_light = CATEGORIES[sample.category[row]] == "traffic_light"
        assert ("state" in annotation["attributes"]) == is_light


def test_missing_root_and_annotation_file_are_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        CocoDataset(missing, "train")
    with pytest.raises(FileNotFoundError, match=r"annotations.*val\.json"):
        CocoDataset(tmp_path, "val")


def test_missing_image_is_named(tmp_path, make_sample):
    write_split([make_sample(0, image_id="gone")], tmp_path, "train")
    (tmp_path / "images" / "train" / "gone.png").unlink()
    dataset = CocoDataset(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match=r"gone\.png"):
        dataset[0]


def test_missing_depth_file_is_named(tmp_path, make_sample):
    write_split([make_sample(0, image_id="deep")], tmp_path, "train")
    (tmp_path / "depth" / "train" / "deep.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"depth.*deep\.png"):
        CocoDataset(tmp_path, "train")[0]


def test_malformed_json_is_named(tmp_path, make_sample):
    path = write_split([make_sample(0)], tmp_path, "train")
    path.write_text(path.read_text()[:-10])
    with pytest.raises(ValueError, match=r"train\.json.*not valid JSON"):
        CocoDataset(tmp_path, "train")


@pytest.mark.parametrize(
    ("section", "key"), [("annotations", "bbox"), ("images", "file_name"), ("categories", "name")]
)
def test_missing_key_is_named(tmp_path, make_sample, section, key):
    path = write_split([make_sample(0)], tmp_path, "train")
    document = json.loads(path.read_text())
    del document[section][0][key]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=rf"train\.json: {section}\[0\] lacks key '{key}'"):
        CocoDataset(tmp_path, "train")


def test_unknown_category_is_refused(tmp_path, make_sample):
    path = write_split([make_sample(0)], tmp_path, "train")
    document = json.loads(path.read_text())
    document["categories"][0]["name"] = "zebra"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="zebra"):
        CocoDataset(tmp_path, "train")


def test_writer_refuses_duplicate_and_unsafe_ids(tmp_path, make_sample):
    with pytest.raises(ValueError, match="duplicate image_id 'a'"):
        write_split([make_sample(0, image_id="a"), make_sample(1, image_id="a")], tmp_path, "t")
    with pytest.raises(ValueError, match="not a safe file name"):
        write_split([make_sample(0, image_id="../escape")], tmp_path, "t")
    assert not (tmp_path / "annotations" / "t.json").exists()
