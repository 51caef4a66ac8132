"""Record readers: AB files and paired files decoded the right way round, and epoch orders that
are pure functions of (seed, epoch)."""

import numpy as np
import tensorflow as tf

from pix2pix_tf.data import record_readers

from conftest import encoded_ab


def test_sketch_is_the_left_half_in_one_channel():
    sketch, photo = record_readers.decode_ab_pair(encoded_ab())
    assert sketch.shape == (32, 32, 1) and photo.shape == (32, 32, 3)
    assert sketch.dtype == tf.uint8
    assert int(sketch[16, 5, 0]) == 0 and int(sketch[0, 5, 0]) == 255
    np.testing.assert_array_equal(photo[0, 0], [255, 0, 0])


def test_paired_files_decode_to_a_gray_sketch_and_a_photo(tmp_path):
    sketch = np.full([16, 16, 3], 255, np.uint8)
    sketch[8] = 0
    photo = np.zeros([16, 16, 3], np.uint8)
    photo[..., 2] = 200
    (tmp_path / 's.png').write_bytes(tf.io.encode_png(sketch).numpy())
    (tmp_path / 'p.png').write_bytes(tf.io.encode_png(photo).numpy())
    records, decode = record_readers.paired_file_records([str(tmp_path / 's.png')],
                                                         [str(tmp_path / 'p.png')])
    decoded_sketch, decoded_photo = decode(next(iter(records)))
    assert decoded_sketch.shape == (16, 16, 1) and decoded_photo.shape == (16, 16, 3)
    assert int(decoded_sketch[8, 3, 0]) == 0 and int(decoded_sketch[0, 3, 0]) == 255
    np.testing.assert_array_equal(decoded_photo[4, 4], [0, 0, 200])


def test_epoch_orders_are_permutations_fixed_by_seed_and_epoch():
    rows = [f'file{index}' for index in range(20)]
    epochs = record_readers.permuted_epochs(rows, len(rows), seed=7)

    def order(epoch, epochs=epochs):
        return [row.decode() for row in epochs(tf.constant(epoch, tf.int64)).as_numpy_iterator()]

    first = order(0)
    assert sorted(first) == sorted(rows) and first != rows
    assert order(0) == first  # The same (seed, epoch): the same order.
    assert order(1) != first  # The next epoch: another permutation.
    assert order(0, record_readers.permuted_epochs(rows, len(rows), seed=8)) != first
    table = {'sketch': rows, 'photo': [row.upper() for row in rows]}
    paired = list(record_readers.permuted_epochs(table, len(rows), 7)(
        tf.constant(0, tf.int64)).as_numpy_iterator())
    assert [item['sketch'].decode() for item in paired] == first  # Columns move together.
    assert all(item['photo'] == item['sketch'].upper() for item in paired)
