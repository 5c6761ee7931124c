"""The suite reads no .env file, however pytest is started: `make test`, or pytest run by hand on one file.

A pytest plugin (pyproject.toml's addopts: -p mem0server.tests.env_file_off), imported before pytest-django loads
Django's settings, which read the file. Run by hand beside a developer's .env (README: "With an LLM" puts
OPENAI_API_KEY there), the tests sent their messages to that LLM, with that key, and failed.
"""

import os

os.environ["MEM0_ENV_FILE"] = ""
