"""The model card (assets.extra/pix2pix.json): what a deployer needs, where it comes from."""

import json

from conftest import SAMPLE

from pix2pix_tf.serving import model_card


def test_model_card_says_what_a_deployer_needs(exported_model, trained_workdir):
    with open(exported_model / '1' / 'assets.extra' / 'pix2pix.json') as file:
        card = json.load(file)
    assert card['inference_mode'] == 'paper' and card['image_size'] == 64
    assert card['max_sketch_size'] == 4096
    data = card['data']
    assert data['name'] == 'sample' and data['location'] == str(SAMPLE)
    assert 'Non-commercial use only' in data['terms']
    assert card['config']['generator_filters'] == 8


def test_data_card_reads_the_datasets_terms():
    from conftest import tiny_config

    data = model_card.data_card(tiny_config())
    assert data['name'] == 'sample' and 'Non-commercial use only' in data['terms']
