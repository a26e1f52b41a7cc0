# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Deep Learning, hands-on — start here
#
# Welcome! The course is a series of lectures, each one a notebook that you run and change, and each one
# followed by an assignment that is graded automatically. Everything runs on a laptop CPU (a GPU is used
# automatically when there is one).
#
# **Lectures.** Open one from the table below and run it from top to bottom: *Run → Run All Cells*, or
# <kbd>Shift</kbd>+<kbd>Enter</kbd> to run one cell at a time and read as you go. Change the code and run it
# again: nothing can break. Figures with sliders and drop-down menus redraw as you move them.
#
# **Assignments.** Each one asks you to build, from scratch, what the lecture before it explained. Write your
# code in the cells marked `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). A locked test
# cell follows each part: run it as often as you like. Before handing in, press **Validate** in the notebook's
# toolbar: it runs the whole notebook and lists every test that still fails.
#
# **Your work.** On your own computer, your notebooks are saved in the course folder. On Binder nothing is kept
# after the session ends (it ends after a while without activity): download what you want to keep with
# *File → Download*.

# %% [markdown]
# <!-- contents: `./course build` replaces this cell with the table of lectures and assignments -->
