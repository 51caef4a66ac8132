import io

from pix2pix_tf.training import progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


METRICS = {'generator/l1_loss': 0.25, 'generator/gan_loss': 0.7,
           'discriminator/real_loss': 0.5, 'discriminator/fake_loss': 0.6}


def test_pipe_gets_a_plain_line_every_log_every_steps():
    stream = io.StringIO()
    bar = progress.Progress(total_steps=10, log_every=4, stream=stream)
    for step in range(1, 11):
        bar.update(step, METRICS, 12.5, 60.0)
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ['4/10', '8/10', '10/10']
    assert '\r' not in stream.getvalue()
    assert lines[0] == ('step 4/10  12.5 img/s  ETA 0:01:00  L1 0.250  G 0.700  D real 0.500  '
                        'D fake 0.600')


def test_terminal_line_is_redrawn_in_place_and_messages_go_above_it():
    stream = FakeTerminal()
    bar = progress.Progress(total_steps=3, log_every=100, stream=stream, redraw_seconds=0)
    bar.update(1, METRICS, 1.0, None)
    bar.log('hello')
    bar.update(2, METRICS, 1.0, 3725)
    bar.close()
    text = stream.getvalue()
    assert text.startswith('\r\033[Kstep 1/3')
    assert '\r\033[Khello\n' in text
    assert 'ETA ?' in text and 'ETA 1:02:05' in text
    assert text.endswith('\n')


def test_format_duration():
    assert progress.format_duration(0) == '0:00:00'
    assert progress.format_duration(90061) == '25:01:01'


def test_step_timing_skips_the_first_step_and_windows_average_the_metrics():
    stream = io.StringIO()
    bar = progress.Progress(total_steps=10, log_every=2, batch_size=4, stream=stream)
    # Step 1 traces and compiles (10 s): neither the rate nor the ETA may count it.
    bar.step_done(1, {'generator/l1_loss': 1.0}, 10.0)
    bar.step_done(2, {'generator/l1_loss': 3.0}, 0.5)
    assert bar.step_seconds == 0.5
    assert stream.getvalue().splitlines()[-1].startswith('step 2/10  8.0 img/s  ETA 0:00:04')
    means, images_per_second = bar.take_window()
    assert means == {'generator/l1_loss': 2.0} and images_per_second == 8.0
    bar.step_done(3, {'generator/l1_loss': 5.0}, 1.5)
    assert bar.step_seconds == 0.9 * 0.5 + 0.1 * 1.5  # A moving average.
    assert bar.take_window() == ({'generator/l1_loss': 5.0}, 4 / 1.5)
    assert bar.take_window() == ({}, None)  # An empty window: nothing timed.
