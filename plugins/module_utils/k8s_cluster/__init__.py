"""Logic of the k8s_cluster role's modules: Go builds, PKI, OCI images, services, waits, teardown.

Plain Python (no Ansible imports) so that plain pytest can import and test every piece.
"""
