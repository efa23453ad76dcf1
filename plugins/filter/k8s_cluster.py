# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the k8s_cluster role; the logic lives in module_utils/k8s_cluster/settings.py and
host_files.py."""

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import host_files, settings


class FilterModule:
    def filters(self):
        return {
            "k8s_cluster_validate": settings.validate,
            "k8s_cluster_component_sources": settings.component_sources,
            "k8s_cluster_binary_paths": settings.binary_paths,
            "k8s_cluster_build_components": settings.build_components,
            "k8s_cluster_downloads": settings.downloads,
            "k8s_cluster_service_specs": settings.service_specs,
            "k8s_cluster_nth_ip": settings.nth_ip,
            "k8s_cluster_build_report": settings.build_report,
            "k8s_cluster_kubeconfigs": host_files.kubeconfigs,
            "k8s_cluster_containerd_hosts": host_files.containerd_hosts,
            "k8s_cluster_push_specs": host_files.push_specs,
        }
