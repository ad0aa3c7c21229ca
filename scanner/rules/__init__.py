"""Rules: the second input of a scan, and the pure judgement.

``baselines`` loads and checks the YAML rules; ``conditions`` compiles a rule's conditions
(three-valued; a bound never passes); ``scope`` says whether a rule applies to a host (the one
``scope()``, and ``may_apply()`` for the plan); ``evaluate`` judges rules × facts × waivers →
results (pure: no network, no clock but the one passed in); ``roles`` infers what a host is from
its facts; ``findings`` words a failing rule for a reader; ``docs`` generates docs/rules.md.

Never imports the engine's transports, the history, the operations or the command line.
"""
