"""Patrol planning for community police (社区民警巡逻): routes, their coverage, suggested patrols, maps."""
