"""The use cases: what a person or a schedule asks the system to do, as plain typed functions
with explicit inputs (the engine, the key, the locations), called alike by the CLI, the DAG
tasks, the portal and the tests.

- `receive.submit_file` / `receive.store_validated`: receive one return (a file, or a return
  already validated) and store it as the council's next version;
- `inbox.discover` / `inbox.process_inbox_file`: the returns inbox;
- `compile.compile_period`: the national compile of a period;
- `annual.build_annual`: the annual publication;
- `quality.audit_quarter` / `quality.audit_annual`: the national data-quality gate (GX) over a
  compiled quarter or a publication, before it is published;
- `tracker.period_tracker`: the submission tracker of a period (the portal's and the compile's).
"""
