"""nengo_gui on nengo_mpi, driven in a real headless browser.

``nengo -b nengo_mpi examples/nengo_gui/sine_squared.py`` (nengo_gui 0.6 from PyPI)
serves the model's page; Chromium (Debian's package, through its chromedriver) opens
it, presses play and watches the simulation advance and the plots fill, then resets
and plays again. nengo_gui builds its Simulator and steps it one step at a time from
its own thread, adds Python Nodes for its plots and the play/pause control, and on
reset closes the simulator and builds a new one: all of it on nengo_mpi, in one
process and split across two MPI ranks (rank 0 serves the page).

The one-process test saves a screenshot: to ``$NENGO_MPI_GUI_SCREENSHOT`` when set
(``make docs`` sets it to the image the docs show), else into its temporary directory.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from nengo_mpi import _engine

pytest.importorskip("nengo_gui", reason="nengo_gui (ci/requirements.txt) is not installed")
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="selenium (ci/requirements.txt) is not installed")

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(os.path.dirname(HERE), "examples", "nengo_gui", "sine_squared.py")
BIN = os.path.dirname(sys.executable)
NENGO = os.path.join(BIN, "nengo")  # nengo_gui's command
MPIRUN = os.path.join(BIN, "mpirun")
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its chromedriver (Debian: apt-get install chromium "
           "chromium-driver; ci/install_browser.sh does it where it can)",
)

#: Seconds to wait for anything the page should do.
PATIENCE = 60.0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(command, log):
    """Start nengo_gui and return (process, the page's URL)."""
    out = open(log, "w+", encoding="utf-8")  # pylint: disable=consider-using-with
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        out.seek(0)
        for line in out.read().splitlines():
            if line.strip().startswith("http://localhost:"):
                return proc, line.strip()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    out.seek(0)
    _stop(proc)
    pytest.fail(f"nengo_gui did not serve a page:\n{out.read()}")
    return None  # not reached


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--window-size=1280,720"):
        options.add_argument(arg)
    service = webdriver.chrome.service.Service(CHROMEDRIVER)
    return webdriver.Chrome(service=service, options=options)


def _wait_for(driver, script, what):
    """Poll the page's JavaScript expression ``script`` until it is true."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if driver.execute_script(f"return Boolean({script})"):
            return
        time.sleep(0.02)
    pytest.fail(f"the page never {what} ({script})")


def _sim_time(driver):
    return driver.execute_script("return sim.time")


# Plots (nengo_gui's Value components) that have received at least ``n`` samples.
PLOTS_WITH = ("Nengo.Component.components.filter(c => c.data_store && "
              "c.data_store.times && c.data_store.times.length >= {n}).length")
READY = ("typeof sim !== 'undefined' && sim.paused && "
         "!document.getElementById('pause_button').hasAttribute('disabled')")


@pytest.mark.parametrize("ranks", [
    1,
    pytest.param(2, marks=pytest.mark.skipif(
        not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
        reason="needs the engine built with MPI and the environment's mpirun")),
], ids=["one_process", "two_ranks"])
def test_nengo_gui_runs_the_model_on_nengo_mpi(ranks, tmp_path):
    # A copy, since nengo_gui writes the layout back to the .cfg beside the model.
    model = tmp_path / "sine_squared.py"
    shutil.copy(MODEL, model)
    shutil.copy(MODEL + ".cfg", str(model) + ".cfg")
    # nengo_gui runs the .cfg's lines in the model's namespace, and calls its on_start
    # with each simulator it builds: which simulator, and split how?
    built = tmp_path / "built.txt"
    with open(str(model) + ".cfg", "a", encoding="utf-8") as cfg:
        cfg.write(f"on_start = lambda sim: open({str(built)!r}, 'a').write("
                  "f'{type(sim).__module__} {sim.n_components}\\n') and None\n")
    gui = [NENGO, "-b", "nengo_mpi", str(model), "--no-browser", "-P", str(_free_port()),
           "--auto-shutdown", "0"]
    if ranks > 1:
        gui = [MPIRUN, "-np", str(ranks), sys.executable, "-m", "nengo_mpi", *gui]
    log = tmp_path / "nengo_gui.log"
    proc, url = _server(gui, log)
    driver = _browser()
    try:
        start = time.monotonic()
        driver.get(url)
        _wait_for(driver, READY, "showed the model, paused")
        page_loaded = time.monotonic() - start
        driver.find_element("id", "pause_button").click()
        _wait_for(driver, "sim.time > 0", "started simulating")
        running = time.monotonic() - start
        # It keeps advancing, and both plots (Python Nodes in the model) fill.
        _wait_for(driver, "sim.time >= 1.5", "simulated 1.5 s")
        _wait_for(driver, PLOTS_WITH.format(n=100) + " >= 2", "filled both plots")
        assert not driver.execute_script("return sim.paused")
        if ranks == 1:
            screenshot = os.environ.get("NENGO_MPI_GUI_SCREENSHOT",
                                        str(tmp_path / "nengo_gui.png"))
            os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
            assert driver.save_screenshot(screenshot)
            assert os.path.getsize(screenshot) > 10_000
            print(f"screenshot: {screenshot}")
        # Reset: nengo_gui closes the simulator; play builds a new one from time 0.
        driver.find_element("id", "reset_button").click()
        _wait_for(driver, "sim.time === 0 && sim.paused", "reset to time 0")
        _wait_for(driver, READY, "was ready to play again")
        driver.find_element("id", "pause_button").click()
        _wait_for(driver, "sim.time > 0.2", "simulated again after the reset")
        # nengo_gui calls on_start from the thread that built the new simulator, which
        # another thread may already be stepping: give its record up to 10 s to land.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not built.exists() or len(built.read_text().splitlines()) < 2):
            time.sleep(0.05)
        print(f"{ranks} rank(s): page shown {page_loaded:.2f} s after opening it, "
              f"simulation running {running:.2f} s after opening it")
    finally:
        driver.quit()
        _stop(proc)
    text = log.read_text()
    assert "Traceback" not in text, text
    # Two simulators (the first, and the one built after the reset), both nengo_mpi's,
    # split into one component per rank.
    assert built.read_text().split("\n")[:2] == [f"nengo_mpi.simulator {ranks}"] * 2
    # The build's workers share nengo's decoder cache without its lock warnings.
    assert "could not acquire lock" not in text, text
