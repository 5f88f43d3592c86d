# Sourced by the stack scripts (and read by tests/deploy): where the stack's engine and caches live.
# Everything is under the project's .run/stack/ (git-ignored); the exec root must be a short path
# because dockerd puts unix sockets in it.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export STACK_RUN=${STACK_RUN:-$REPO_ROOT/.run/stack}
export STACK_EXEC_ROOT=${STACK_EXEC_ROOT:-/run/courtfeed-stack-$(printf '%s' "$REPO_ROOT" | md5sum | cut -c1-8)}
export DOCKER_HOST=${COURTFEED_DOCKER_HOST:-unix://$STACK_RUN/docker.sock}
# The locally built Debian base every stack image starts from (no registry is reachable).
export STACK_BASE_IMAGE=${STACK_BASE_IMAGE:-courtfeed-local/debian:bookworm}
mkdir -p "$STACK_RUN"
