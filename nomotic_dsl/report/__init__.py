"""Reports a reviewer reads: an HTML page of a replay, and violations explained in words.

Input: a policy set (a verified bundle or a compiled policy) and a trace.
Output: one self-contained HTML file (``html.render_page``), or the
explanation of the verdicts at one line (``verdict.explain_verdict``).
Stage: shell-side library over ``nomotic_dsl.replay``; the values and
verdicts are the fleet runtime's.

Modules: ``collect`` (the replay, gathered), ``explain`` (the window behind
a value and what drove it), ``svg`` (inline charts), ``html`` (the page),
``verdict`` (one line's violations in words).
"""
