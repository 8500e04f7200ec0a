#!/usr/bin/env bash
# `npm run upgrade`: brings berth's own changes into your fork: fetches the `upstream` remote (berth's repository)
# and merges its main branch into the branch you are on, keeping your commits (stack files, workflows). Refuses
# with uncommitted changes. Then: `npm run setup` and `npm run check -- --stack <stack>` before it ships.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BERTH_ROOT"
branch=${1:-main}
git remote get-url upstream >/dev/null 2>&1 ||
  die "this checkout has no 'upstream' remote (berth's repository)" "git remote add upstream <berth's repository URL>, then npm run upgrade again"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
  die "uncommitted changes here: an upgrade merges into a clean checkout" "commit or stash them, then npm run upgrade again"
before=$(git rev-parse HEAD)
git fetch --quiet upstream "$branch"
if ! git merge --no-edit --quiet "upstream/$branch"; then
  die "berth's changes conflict with yours (git status lists the files)" "resolve them and commit, or git merge --abort to leave things as they were"
fi
if [ "$(git rev-parse HEAD)" = "$before" ]; then
  say "already up to date with upstream/$branch"
else
  say "merged upstream/$branch: $(git rev-list --count "$before..HEAD") new commits; next: npm run setup, then npm run check -- --stack <stack>"
fi
