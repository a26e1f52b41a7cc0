"""nbgrader's Execute step, with every submission run in the `course-sandbox` kernel."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

from .sandbox import KERNEL_NAME, install_kernelspec, require_sandbox


class SandboxedExecute(Execute):
    """Autograde's Execute in the sandbox kernel, talking to it over private IPC sockets.

    The kernel has no network, so the usual TCP-on-localhost connection cannot reach it: the
    connection file and sockets live in a fresh private folder that the sandbox binds.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict, km=None):
        require_sandbox()
        install_kernelspec()
        self.kernel_name = KERNEL_NAME
        self._runtime = Path(tempfile.mkdtemp(prefix="grading-kernel-"))
        try:
            return super().preprocess(nb, resources, km)
        finally:
            shutil.rmtree(self._runtime, ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.transport = "ipc"
        km.connection_file = str(self._runtime / "kernel.json")
        km.ip = str(self._runtime / "kernel-ipc")
        return km
