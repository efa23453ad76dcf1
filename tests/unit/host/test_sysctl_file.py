"""module_utils.sysctl_file against a directory laid out like /proc/sys (root may not write the real one here
for every parameter, and a test must not change this host's kernel)."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import sysctl_file


@pytest.fixture
def proc(tmp_path):
    root = tmp_path / "proc"
    (root / "net/ipv4").mkdir(parents=True)
    (root / "net/ipv4/ip_forward").write_text("0\n")
    (root / "net/ipv4/ip_local_port_range").write_text("32768\t60999\n")
    return root


def test_writes_the_file_and_only_the_live_values_that_differ(tmp_path, proc):
    conf = tmp_path / "sysctl.d/90-x.conf"
    values = {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "32768 60999"}
    first = sysctl_file.apply(str(conf), values, "k8s_cluster", proc_root=str(proc), diff=True)
    assert first.file_changed and first.live == {"net.ipv4.ip_forward": {"before": "0", "after": "1"}}
    assert conf.read_text() == "# k8s_cluster\nnet.ipv4.ip_forward = 1\nnet.ipv4.ip_local_port_range = 32768 60999\n"
    assert (proc / "net/ipv4/ip_forward").read_text() == "1"
    assert [d["before_header"] for d in first.diffs] == ["(absent)", "net.ipv4.ip_forward (running)"]
    assert not sysctl_file.apply(str(conf), values, "k8s_cluster", proc_root=str(proc)).changed


def test_check_mode_changes_nothing(tmp_path, proc):
    conf = tmp_path / "90-x.conf"
    result = sysctl_file.apply(str(conf), {"net.ipv4.ip_forward": "1"}, "h", proc_root=str(proc), check=True)
    assert result.changed and not conf.exists()
    assert (proc / "net/ipv4/ip_forward").read_text() == "0\n"
    # A new host in check mode: br_netfilter is not loaded yet, so its parameters do not exist.
    later = sysctl_file.apply(
        str(conf), {"net.bridge.bridge-nf-call-iptables": "1"}, "h", proc_root=str(proc), check=True
    )
    assert later.live == {"net.bridge.bridge-nf-call-iptables": {"before": "(absent)", "after": "1"}}


def test_an_unknown_parameter_fails_naming_it_before_anything_is_written(tmp_path, proc):
    conf = tmp_path / "90-x.conf"
    values = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
    with pytest.raises(sysctl_file.SysctlError, match=r"values: net.bridge.bridge-nf-call-iptables: cannot read"):
        sysctl_file.apply(str(conf), values, "h", proc_root=str(proc))
    assert not conf.exists() and (proc / "net/ipv4/ip_forward").read_text() == "0\n"
    with pytest.raises(sysctl_file.SysctlError, match="is not a kernel parameter name"):
        sysctl_file.apply(str(conf), {"../../etc/passwd": "x"}, "h", proc_root=str(proc))
