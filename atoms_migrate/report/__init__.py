"""Renderers: turn plans and results into what people and machines read. They return text; no I/O.

``human`` (the terminal diff), ``markdown`` (pull requests, ``$GITHUB_STEP_SUMMARY``), ``values`` (short stable
forms of values shared by both), ``progress`` (rich or plain progress lines), ``ci`` (JUnit XML, GitHub
annotations), ``sarif`` (SARIF 2.1.0 for ``scan``).

New output format: a module here taking the plan or the results and returning text; the CLI writes it.
"""
