"""Logic of the k8s_cluster role's modules: Go builds, PKI, OCI images, services, waits, teardown.

Plain Python (no AnsibleModule; HTTP goes through ansible.module_utils.urls, a plain library) so
that plain pytest can import and test every piece.
"""
