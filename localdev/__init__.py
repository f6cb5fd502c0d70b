"""Local stand-ins for the AWS pieces (Redis Cluster for MemoryDB, HAProxy for the ALB)."""
