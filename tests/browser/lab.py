"""JupyterLab in Chromium, driven as a person uses it: menus, toolbar buttons, the keyboard, sliders.

Selectors are JupyterLab 4's and ipywidgets 8's; each helper waits for what a person would wait for.
"""
from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page

from .servers import JupyterServer

RUN_ALL_TIMEOUT_S = 420  # a lecture's budget is 120 s on an idle machine; CI runs notebooks beside this one
TRACEBACK = "Traceback (most recent call last)"
# The status bar names the current notebook's kernel and its state: "Python 3 (ipykernel) | Idle".
KERNEL_IDLE = """() => [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')]
    .some(item => / \\| Idle$/.test(item.textContent))"""


class Screenshots:
    """Numbered screenshots of one test, saved in its own folder (kept after the test: look at them)."""

    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str, full_page: bool = False) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=path, full_page=full_page)
        return path


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class JupyterLab:
    """One browser tab on a Jupyter server."""

    def __init__(self, page: Page, server: JupyterServer, shots: Screenshots, workspace: str = "test"):
        self.page, self.server, self.shots = page, server, shots
        self.workspace = re.sub(r"[^A-Za-z0-9_-]+", "-", workspace)  # tabs open in one test stay out of the next

    def url(self, path: str = "") -> str:
        """The JupyterLab address of `path` (a file or folder relative to the server's root) in this workspace."""
        return self.server.url(f"lab/workspaces/{self.workspace}" + (f"/tree/{path}" if path else ""))

    def shot(self, name: str) -> Path:
        return self.shots.take(self.page, name)

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.wait_for_shell()

    def wait_for_shell(self) -> None:
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        self.page.wait_for_selector(".jp-FileBrowser .jp-DirListing-content", timeout=60_000)

    def open_notebook(self, path: str) -> Notebook:
        """Open `path` (relative to the server's root) in its own tab, as the address bar would."""
        self.goto(self.url(path))
        return Notebook(self, path)

    def menu_bar(self) -> list[str]:
        return self.page.locator("#jp-menu-panel .lm-MenuBar-itemLabel").all_text_contents()

    def click_menu(self, menu: str, command: str) -> None:
        self.page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(f".lm-Menu-item[data-command='{command}']").click()

    def side_bar_titles(self) -> list[str]:
        """The tooltips of the left and right side bars' tabs (File Browser, Create Assignment, ...)."""
        tabs = self.page.locator(".jp-SideBar .lm-TabBar-tab")
        return [tabs.nth(i).get_attribute("title") or "" for i in range(tabs.count())]

    def listing(self) -> list[str]:
        """The names in the file browser's current folder."""
        self.page.wait_for_selector(".jp-DirListing-item", timeout=30_000)
        return self.page.locator(".jp-DirListing-item .jp-DirListing-itemText").all_text_contents()

    def open_folder(self, *names: str) -> list[str]:
        """Double-click folders in the file browser, one after the other; return the last one's listing."""
        for name in names:
            text = self.page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$"))
            self.page.locator(".jp-DirListing-item", has=text).dblclick()
            self.page.wait_for_selector(f".jp-FileBrowser .jp-BreadCrumbs-item:has-text('{name}')", timeout=30_000)
        return self.listing()

    def validate_buttons(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button")

    def assert_no_dialog(self) -> None:
        """A modal dialog would swallow the next click: fail with what it says instead."""
        dialogs = self.page.locator(".jp-Dialog")
        assert dialogs.count() == 0, f"unexpected dialog: {dialogs.first.text_content()}"

    def notifications(self) -> list[str]:
        return self.page.locator(".jp-toast-message, .Toastify__toast").all_text_contents()


class Notebook:
    """The notebook open in the current tab."""

    def __init__(self, lab: JupyterLab, path: str):
        self.lab, self.page, self.path = lab, lab.page, path
        self.file = lab.server.root / path
        self.panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").last
        self.wait_until_loaded()

    def read(self) -> nbformat.NotebookNode:
        """The notebook as saved on the server's disk."""
        return nbformat.read(self.file, as_version=4)

    @property
    def cells(self) -> Locator:
        return self.panel.locator(".jp-Notebook .jp-Cell")

    def wait_until_loaded(self) -> None:
        """Kernel started and idle, every cell attached (JupyterLab attaches long notebooks bit by bit)."""
        count = len(self.read().cells)
        self.page.wait_for_function(KERNEL_IDLE, timeout=180_000, polling=500)
        wait_until(lambda: self.cells.count() >= count, 120, f"the {count} cells of {self.path} to be attached")

    def kernel_idle(self) -> bool:
        return self.page.evaluate(KERNEL_IDLE)

    def prompts(self) -> list[str]:
        return self.panel.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()

    def run_all(self, timeout: float = RUN_ALL_TIMEOUT_S) -> float:
        """Run → Run All Cells; wait until every code cell has run or one has failed. Returns the seconds taken."""
        start = time.monotonic()
        self.lab.click_menu("Run", "runmenu:run-all")
        wait_until(lambda: any("*" in p for p in self.prompts()), 30, "Run All to start")

        def finished() -> bool:
            prompts = self.prompts()
            return "*" not in "".join(prompts) and (all(re.search(r"\d", p) for p in prompts) or self.tracebacks())
        wait_until(finished, timeout, f"Run All Cells to finish in {self.path}", interval=1.0)
        return time.monotonic() - start

    def outputs(self, mime_type: str) -> Locator:
        return self.panel.locator(f".jp-OutputArea-output[data-mime-type='{mime_type}']")

    def tracebacks(self) -> list[str]:
        """Error outputs shown in the notebook (JupyterLab renders them as stderr text with the traceback)."""
        texts = self.outputs("application/vnd.jupyter.stderr").all_text_contents()
        return [t for t in texts if TRACEBACK in t]

    def images(self) -> list[dict]:
        """Every figure in the notebook: its size once decoded by the browser and its PNG bytes."""
        found = self.panel.locator(".jp-OutputArea-output img").evaluate_all(
            "imgs => imgs.map(i => ({src: i.src, width: i.naturalWidth, complete: i.complete}))")
        return [{**image, "png": png_bytes(image["src"])} for image in found]

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        wait_until(lambda: not self.panel_is_dirty(), 60, f"{self.path} to be saved")

    def panel_is_dirty(self) -> bool:
        tab = self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        return "jp-mod-dirty" in (tab.get_attribute("class") or "")

    def code_cell(self, containing: str) -> Locator:
        cell = self.panel.locator(".jp-CodeCell", has=self.page.locator(".cm-content", has_text=containing))
        assert cell.count() == 1, f"{cell.count()} code cells contain {containing!r}"
        return cell

    def replace_source(self, cell: Locator, source: str) -> None:
        """Click into the cell's editor, select everything and type `source` in its place."""
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(source)
        self.page.keyboard.press("Escape")
        editor = cell.locator(".cm-content")
        wait_until(lambda: source.splitlines()[0] in editor.text_content(), 10, "the cell to show the typed text")

    def validate(self, timeout: float = 300) -> list[dict]:
        """Press nbgrader's Validate button; return the failures its dialog lists ([] when it reports success).

        Each failure is {"source": the failing cell's code, "error": the error text shown under it}.
        """
        self.lab.assert_no_dialog()
        self.panel.locator(".validate-button").click()
        dialog = self.page.locator(".jp-Dialog #validation-message")
        dialog.wait_for(timeout=timeout * 1000)
        failures = dialog.evaluate("""m => {
            const blocks = [...m.querySelectorAll(':scope > .jp-RenderedText pre')].map(p => p.innerText);
            const out = [];
            for (let i = 0; i + 1 < blocks.length; i += 2) out.push({source: blocks[i], error: blocks[i + 1]});
            return {failed: m.classList.contains('validation-failed'), text: m.innerText, failures: out};
        }""")
        if not failures["failed"]:
            assert "passes all the tests" in failures["text"], failures["text"]
        return failures["failures"]

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")


def png_bytes(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    return base64.b64decode(src[len(prefix):]) if src.startswith(prefix) else b""


class Widget:
    """An `ipywidgets.interactive` (what `course_utils.explore` shows in a live notebook)."""

    def __init__(self, notebook: Notebook, index: int = 0):
        self.notebook, self.page = notebook, notebook.page
        self.root = notebook.panel.locator(".widget-interact").nth(index)
        self.root.wait_for(timeout=60_000)

    def figure(self) -> bytes:
        """The PNG bytes of the figure the widget currently shows."""
        image = self.root.locator(".jp-OutputArea-output img").first
        image.wait_for(timeout=60_000)
        return png_bytes(image.get_attribute("src") or "")

    def slider_labels(self) -> list[str]:
        return self.root.locator(".widget-slider .widget-label").all_text_contents()

    def slider(self, label: str) -> Locator:
        return self.root.locator(".widget-slider", has=self.page.locator(".widget-label", has_text=label)).first

    def position(self, label: str) -> float:
        """Where the slider's handle is: 0 at the left end of its track, 1 at the right end."""
        box = self.slider(label).locator(".noUi-handle").bounding_box()
        track = self.slider(label).locator(".noUi-base").bounding_box()
        return (box["x"] + box["width"] / 2 - track["x"]) / track["width"]

    def drag_slider(self, label: str, fraction: float) -> None:
        """Drag the slider called `label` with the mouse to `fraction` (0 = left end, 1 = right end) of its track."""
        self.notebook.lab.assert_no_dialog()
        slider = self.slider(label)
        slider.scroll_into_view_if_needed()
        handle, track = slider.locator(".noUi-handle"), slider.locator(".noUi-base")
        box, target = handle.bounding_box(), track.bounding_box()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(target["x"] + fraction * target["width"], box["y"] + box["height"] / 2, steps=8)
        self.page.mouse.up()

    def readout(self, label: str) -> str:
        return self.slider(label).locator(".widget-readout").text_content().strip()

    def wait_for_new_figure(self, before: bytes, timeout: float = 90) -> bytes:
        """The figure once it differs from `before` and has settled (a drag redraws it at each step it passes)."""
        wait_until(lambda: self.figure() != before, timeout, "the widget's figure to be redrawn")
        last = [b""]

        def settled() -> bytes | None:
            current, previous = self.figure(), last[0]
            last[0] = current
            return current if current == previous and self.notebook.kernel_idle() else None
        return wait_until(settled, timeout, "the widget's figure to settle", interval=1.5)
