#!/usr/bin/env bash
# An AWS connector made of `aws` CLI calls, speaking the trustbench connector protocol
# (docs/conformance-protocol.md): one JSON request on stdin, one JSON result on stdout.
# python3 only reads the request and writes the result; every AWS call is the CLI's.
set -uo pipefail

request=$(cat)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The request's fields, as shell variables.
eval "$(python3 -c '
import json, shlex, sys
r = json.loads(sys.argv[1]); c = r["connector"]; x = c.get("cross_account") or {}
creds = c["credentials"]; conn = c["connectivity"]; check = r.get("deployment_check") or {}
kind = creds if isinstance(creds, str) else next(iter(creds))
key = {} if isinstance(creds, str) else creds.get("access_key") or {}
values = {
    "operation": r["operation"], "kind": kind,
    "key_id": key.get("access_key_id") or "", "secret": key.get("secret_access_key") or "",
    "role_arn": x.get("role_arn") or "", "external_id": x.get("external_id") or "",
    "duration": str(x.get("session_duration_seconds") or ""),
    "region": c["test_region"], "connectivity": conn["type"],
    "delegate": conn.get("delegate") or "",
    "simulations": "\n".join(
        " ".join(sim["resource_arns"]) + "\t" + " ".join(sim["actions"])
        for sim in check.get("simulations") or []
    ),
    "check_role": check.get("role") or "", "trusts": check.get("trusts") or "",
    "auditors": json.dumps(check.get("auditors") or {}),
}
for k, v in values.items():
    print(f"{k}={shlex.quote(v)}")
' "$request")"

# Prints the result JSON: success REGIONS PRINCIPAL [MISSING [TRUSTED]] or failure STAGE CODE
# MESSAGE.
result() {
  python3 -c '
import json, sys
a = sys.argv[1:]
if a[0] == "success":
    out = {"status": "success", "regions": a[1].split(), "principal": a[2]}
    if len(a) > 3:
        out["missing_actions"] = sorted(set(a[3].split()))
    if len(a) > 4 and a[4]:
        out["trusted"] = a[4] == "true"
else:
    out = {"status": "failure", "stage": a[1], "code": a[2] or None, "message": a[3]}
print(json.dumps(out))
' "$@"
  exit 0
}

if [[ "$kind" != access_key || "$connectivity" == delegate ]]; then
  if [[ "$connectivity" != delegate ]]; then result failure configuration "" "$kind needs a delegate"; fi
  if [[ -z "$delegate" ]]; then result failure configuration "" "no delegate matches the selectors"; fi
fi
# A cross-account Role ARN must be in the test region's partition: GovCloud and standard AWS
# do not reach each other.
if [[ "$role_arn" =~ ^arn:(aws|aws-us-gov|aws-cn): ]]; then
  role_partition=$(cut -d: -f2 <<<"$role_arn")
  case "$region" in
    us-gov-*) region_partition=aws-us-gov ;;
    cn-*) region_partition=aws-cn ;;
    *) region_partition=aws ;;
  esac
  if [[ "$role_partition" != "$region_partition" ]]; then
    result failure configuration "" "the Role ARN is in partition $role_partition, the test region $region is not"
  fi
fi
if [[ "$kind" == irsa && ( -z "${AWS_ROLE_ARN:-}" || -z "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ) ]]; then
  result failure credentials "" "no web identity on this delegate"
fi

profile=()
if [[ "$kind" == access_key ]]; then
  export AWS_ACCESS_KEY_ID="$key_id" AWS_SECRET_ACCESS_KEY="$secret"
fi
if [[ -n "$role_arn" ]]; then
  config="$work/config"
  {
    echo "[profile target]"
    echo "role_arn = $role_arn"
    echo "role_session_name = trustbench-connector"
    [[ -n "$external_id" ]] && echo "external_id = $external_id"
    [[ -n "$duration" ]] && echo "duration_seconds = $duration"
    if [[ "$kind" == access_key ]]; then
      echo "source_profile = source"
      echo "[profile source]"
      echo "aws_access_key_id = $key_id"
      echo "aws_secret_access_key = $secret"
    elif [[ -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" && -n "${AWS_ROLE_ARN:-}" ]]; then
      echo "source_profile = source"
      echo "[profile source]"
      echo "role_arn = $AWS_ROLE_ARN"
      echo "web_identity_token_file = $AWS_WEB_IDENTITY_TOKEN_FILE"
    elif [[ -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]]; then
      echo "credential_source = EcsContainer"
    else
      echo "credential_source = Ec2InstanceMetadata"
    fi
  } > "$config"
  export AWS_CONFIG_FILE="$config"
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  profile=(--profile target)
fi

# Runs the CLI and prints its output; on failure, writes the result for the stage its
# error belongs to into $work/failure and returns 1 (it runs in a command substitution).
call() {
  local out err status
  out=$(aws --output text --region "$region" "${profile[@]}" "$@" 2>"$work/err")
  status=$?
  err=$(cat "$work/err")
  if [[ $status -eq 0 ]]; then
    printf '%s' "$out"
    return 0
  fi
  local code="" operation=""
  if [[ "$err" =~ An\ error\ occurred\ \(([A-Za-z0-9.]+)\)\ when\ calling\ the\ ([A-Za-z]+)\ operation ]]; then
    code="${BASH_REMATCH[1]}"
    operation="${BASH_REMATCH[2]}"
  fi
  local stage=describe_regions
  case "$operation" in
    AssumeRole) stage=$([[ -n "$role_arn" ]] && echo assume_role || echo credentials) ;;
    AssumeRoleWithWebIdentity) stage=credentials ;;
    GetCallerIdentity) stage=caller_identity ;;
  esac
  if [[ -z "$operation" ]]; then stage=credentials; fi
  (result failure "$stage" "$code" "$err") > "$work/failure"
  return 1
}

if ! regions=$(call ec2 describe-regions --query 'Regions[].RegionName'); then
  cat "$work/failure"
  exit 0
fi
if ! principal=$(call sts get-caller-identity --query Arn); then
  cat "$work/failure"
  exit 0
fi

if [[ "$operation" == deployment_check ]]; then
  unset AWS_CONFIG_FILE
  profile=()
  account=$(cut -d: -f5 <<<"$principal")
  eval "$(python3 -c '
import json, shlex, sys
a = json.loads(sys.argv[1]).get(sys.argv[2], {})
print("audit_id=" + shlex.quote(a.get("access_key_id", "")))
print("audit_secret=" + shlex.quote(a.get("secret_access_key", "")))
' "$auditors" "$account")"
  export AWS_CONFIG_FILE="$work/empty" AWS_ACCESS_KEY_ID="$audit_id" AWS_SECRET_ACCESS_KEY="$audit_secret"
  : > "$AWS_CONFIG_FILE"
  source_arn="$principal"
  trusted=""
  if [[ -n "$check_role" ]]; then
    source_arn=$(aws --output text --region "$region" iam get-role --role-name "$check_role" --query Role.Arn 2>"$work/err") \
      || result failure deployment_check "" "$(cat "$work/err")"
    if [[ -n "$trusts" ]]; then
      # The CLI decodes the trust policy; python3 only reads it.
      trust=$(aws --output json --region "$region" iam get-role --role-name "$check_role" \
        --query Role.AssumeRolePolicyDocument 2>"$work/err") \
        || result failure deployment_check "" "$(cat "$work/err")"
      trusted=$(python3 -c '
import fnmatch, json, sys
doc, service = json.loads(sys.argv[1]), sys.argv[2]
statements = doc.get("Statement", [])
statements = [statements] if isinstance(statements, dict) else statements
def names(value, wanted):
    return any(isinstance(v, str) and wanted(v) for v in (value if isinstance(value, list) else [value]))
print(str(any(
    s.get("Effect") == "Allow" and isinstance(s.get("Principal"), dict)
    and names(s["Principal"].get("Service", []), lambda p: p == service)
    and names(s.get("Action", []), lambda a: fnmatch.fnmatchcase("sts:assumerole", a.lower()))
    for s in statements)).lower())
' "$trust" "$trusts")
    fi
  elif [[ "$principal" == *:assumed-role/* ]]; then
    role_name=${principal#*:assumed-role/}
    role_name=${role_name%%/*}
    source_arn=$(aws --output text --region "$region" iam get-role --role-name "$role_name" --query Role.Arn 2>"$work/err") \
      || result failure deployment_check "" "$(cat "$work/err")"
  fi
  source_account=$(cut -d: -f5 <<<"$source_arn")
  missing=""
  while IFS=$'\t' read -r arns actions; do
    [[ -z "$actions" ]] && continue
    resources=()
    if [[ "$arns" != "*" ]]; then
      # shellcheck disable=SC2086
      resources=(--resource-arns ${arns//'${Account}'/$source_account})
    fi
    # The CLI follows every page itself.
    # shellcheck disable=SC2086
    found=$(aws --output text --region "$region" iam simulate-principal-policy \
      --policy-source-arn "$source_arn" --action-names $actions "${resources[@]}" \
      --query "EvaluationResults[?EvalDecision!='allowed'].EvalActionName" 2>"$work/err") \
      || result failure deployment_check "" "$(cat "$work/err")"
    [[ "$found" == None ]] && found=""
    missing="$missing $found"
  done <<<"$simulations"
  result success "$regions" "$principal" "$missing" "$trusted"
fi
result success "$regions" "$principal"
