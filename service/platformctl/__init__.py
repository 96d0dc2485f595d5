"""platformctl: the operators' front door to the fleet's playbooks.

Every run goes through ansible-runner's Python API, with live progress and a summary table; disruptive
playbooks hold the fleet lock (a file on the first `lb`, else `app`, host of the inventory, which every
controller reaches) and every run leaves one line in the audit log plus its ansible-runner artifacts.
"""
