"""nbgrader settings every account of a JupyterHub course shares: which course, and where its exchange is.

The hub (deploy/jupyterhub_config.py) puts this folder on every server's JUPYTER_CONFIG_PATH and sets the two
variables below for them; nbgrader's commands run in a terminal of a hub server inherit both.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "dl-course")
# The shared folder every account reads and writes (mode 1777: anyone may add, nobody may rename others' files).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
