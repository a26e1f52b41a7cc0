"""Inside the grading sandbox: set the resource limits, cap what a cell may print, start the kernel.

    python -I inside.py MEMORY_RLIMIT CONNECTION_FILE [kernel args]

Standalone on purpose (standard library and ipykernel only): the grading package is not visible
inside the sandbox. MEMORY_RLIMIT is the address-space limit in bytes, 0 when a memory cgroup
already limits the kernel's real memory use.
"""
import resource
import sys

LIMITS = {  # per kernel; generous for the course's notebooks on a CPU
    resource.RLIMIT_CPU: 900,  # seconds of CPU time (all threads): ends runaway loops
    resource.RLIMIT_FSIZE: 256 * 2**20,  # bytes per file written
    resource.RLIMIT_NPROC: 512,  # processes and threads of the sandbox user
}
MAX_OUTPUT_CHARS = 200_000  # per stream per cell; the rest is dropped with a note


def cap_output():
    """Stop a cell that prints without end from flooding the grader: keep the first MAX_OUTPUT_CHARS."""
    from ipykernel.iostream import OutStream
    original_write = OutStream.write

    def write(self, text):
        parent = getattr(self, "parent_header", {}).get("msg_id")
        if getattr(self, "_course_cell", None) != parent:
            self._course_cell, self._course_written = parent, 0
        room = MAX_OUTPUT_CHARS - self._course_written
        self._course_written += len(text)
        if room <= 0:
            return len(text)
        if len(text) > room:
            text = text[:room] + f"\n[output truncated after {MAX_OUTPUT_CHARS:,} characters]\n"
        return original_write(self, text)

    OutStream.write = write


def main(memory_rlimit, connection_file, kernel_args):
    limits = dict(LIMITS)
    if memory_rlimit > 0:
        limits[resource.RLIMIT_AS] = memory_rlimit
    for limit, value in limits.items():
        resource.setrlimit(limit, (value, value))
    cap_output()
    from ipykernel.kernelapp import launch_new_instance
    sys.argv = [sys.argv[0], "-f", connection_file, *kernel_args]
    launch_new_instance()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
