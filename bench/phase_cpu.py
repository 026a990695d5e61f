"""CPU-seconds per recover phase, by kind of process: where the time of a CPU-bound phase goes.

usage: phase_cpu.py PROGRESS_LOG DONE_FILE OUT_JSON

Follows recover's progress log (stderr); at each 'PHASE [name]' line and every half second it reads every
process's utime+stime from /proc, and it stops when DONE_FILE appears (bench/run.sh touches it once
recover has exited). A process's CPU between two readings goes to the phase the later reading falls in.
Processes are grouped: the coordinator (java running dev.etcdrescue.coordinator), the agents (java
running dev.etcdrescue.agent), etcd, etcd tools (etcdctl, etcdutl: the restores, snapshot status),
kernel threads, and other. Processes that start and end between
two readings are not seen; 'unattributed' is what /proc/stat counts as busy beyond the processes seen
(those, and interrupts). 'stolen' is what the hypervisor gave to other guests (/proc/stat's steal):
not the phase's work, but time its CPUs did not have. The testbed's hosts are PID namespaces of this machine, so /proc shows them all.
"""
import glob
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PHASE_MARK = "PHASE ["


def group(pid):
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return None
    if not cmdline:
        return "kernel"
    if b"dev.etcdrescue.coordinator" in cmdline:
        return "coordinator"
    if b"dev.etcdrescue.agent" in cmdline:
        return "agents"
    program = os.path.basename(cmdline.split(b"\0")[0])
    if program == b"etcd":
        return "etcd"
    if program in (b"etcdctl", b"etcdutl"):
        return "etcd tools"
    return "other"


def processes():
    """pid -> (start time, CPU ticks); the start time tells a reused pid from the process seen before."""
    out = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(path).read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        out[int(path.split("/")[2])] = (int(fields[19]), int(fields[11]) + int(fields[12]))
    return out


def busy_ticks():
    """(busy, steal): ticks the CPUs ran anything (not idle, iowait or stolen), and ticks the hypervisor took."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4] - fields[7], fields[7]


def main(log_path, done_path, out_path):
    groups = {}
    per_phase = {}
    phase = "launch"  # the coordinator's JVM start and set-up, before its first phase
    last = processes()
    last_busy = busy_ticks()
    offset = 0
    next_reading = time.monotonic() + 0.5

    def reading(into):
        nonlocal last, last_busy
        now = processes()
        busy = busy_ticks()
        sums = per_phase.setdefault(into, {})
        seen = 0
        for pid, (start, ticks) in now.items():
            before = last.get(pid)
            used = ticks - before[1] if before and before[0] == start else ticks
            if used <= 0:
                continue
            if (pid, start) not in groups:
                groups[(pid, start)] = group(pid)
            name = groups[(pid, start)] or "other"
            sums[name] = sums.get(name, 0) + used
            seen += used
        sums["unattributed"] = sums.get("unattributed", 0) + max(0, busy[0] - last_busy[0] - seen)
        sums["stolen"] = sums.get("stolen", 0) + busy[1] - last_busy[1]
        last, last_busy = now, busy

    while True:
        done = os.path.exists(done_path)
        try:
            with open(log_path, errors="replace") as f:
                f.seek(offset)
                chunk = f.read()
        except OSError:
            chunk = ""
        complete = chunk[:chunk.rfind("\n") + 1]
        offset += len(complete.encode())
        for line in complete.splitlines():
            if line.startswith(PHASE_MARK):
                reading(phase)
                phase = line[len(PHASE_MARK):line.index("]")]
        if done:
            reading(phase)
            break
        if time.monotonic() >= next_reading:
            reading(phase)
            next_reading = time.monotonic() + 0.5
        time.sleep(0.1)
    result = {p: {g: round(t / TICK, 2) for g, t in sorted(sums.items(), key=lambda kv: -kv[1])}
              for p, sums in per_phase.items()}
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
