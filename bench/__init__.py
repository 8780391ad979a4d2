"""`cumplido bench`: how much Cumplido moves per minute, against baselines, and scaled out.

The pieces: scenario (the reproducible peak-day shop), sandbox_process (the vendor simulators
in their own process), prefect_server (a real `prefect server`), flow_run (one flow run in a
child process, measured), baselines (pick travel, label cost, bulk writes, concurrent
reservation), invariants (nothing oversold, doubled or lost), scale_out (workers on a pool),
report (JSON + Markdown) and main (the command)."""
