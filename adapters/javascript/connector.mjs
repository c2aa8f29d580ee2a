#!/usr/bin/env node
// An AWS connector on the AWS SDK for JavaScript v3's own credential chain, speaking the
// trustbench connector protocol (docs/conformance-protocol.md): one JSON request on stdin,
// one JSON result on stdout, diagnostics on stderr, exit status 0 whatever the result.
//
// Static keys go to the clients as they are; the delegate's role uses the SDK's Node
// default chain (`fromNodeProviderChain`: web identity, container credentials, instance
// metadata, from the environment the runner gives); IRSA uses `fromTokenFile`; cross-account
// access is `fromTemporaryCredentials` over the source credentials, as a JS user would
// write it. Every client (and the STS clients inside the credential providers) gets the
// test region; the endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> support.

// Nothing but the result may reach stdout: send any console chatter to stderr.
for (const level of ["log", "info", "debug", "trace"]) {
  console[level] = (...args) => console.error(...args);
}

const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
const { EC2Client, DescribeRegionsCommand } = await import("@aws-sdk/client-ec2");
const { IAMClient, GetRoleCommand, SimulatePrincipalPolicyCommand } = await import(
  "@aws-sdk/client-iam"
);
const { fromNodeProviderChain, fromTokenFile, fromTemporaryCredentials } = await import(
  "@aws-sdk/credential-providers"
);

// Per-request bounds on the SDK's HTTP handler (which by default has no request timeout),
// so that even the standard retry mode's 3 attempts keep a step well under the runner's
// 60 s. Retry mode and attempts stay the SDK's defaults (standard, 3).
const REQUEST_HANDLER = { connectionTimeout: 3000, requestTimeout: 5000, throwOnRequestTimeout: true };
const SESSION_NAME = "trustbench-connector";

function fail(stage, code, message) {
  return { status: "failure", stage, code: code ?? null, message: String(message ?? "") };
}

/** AWS's wire error code of a service error, or null for anything AWS did not answer
 * (credential sources, network errors). The awsQuery/ec2Query deserializers keep the wire
 * `<Code>` on the exception as `Code` (and `Error.Code`), while `name` is the modelled
 * shape name (e.g. `InvalidIdentityTokenException` for wire `InvalidIdentityToken`). */
function awsCode(error) {
  if (!error || typeof error !== "object") return null;
  const answered = error.$fault !== undefined || error.$response?.statusCode >= 300;
  if (!answered) return null;
  const code = error.Code ?? error.Error?.Code;
  if (typeof code === "string" && code) return code;
  // A service error without a wire code: the deserializer names it `Unknown`.
  return error.name && error.name !== "Unknown" && error.name !== "Error" ? error.name : null;
}

function describe(error) {
  if (error && typeof error === "object") {
    const name = error.name ?? "Error";
    return `${name}: ${error.message ?? ""}`.trim();
  }
  return String(error);
}

/** `access_key`, `delegate_role` or `irsa` (`{"access_key": {...}}` or a plain word). */
function credentialKind(credentials) {
  return typeof credentials === "string" ? credentials : Object.keys(credentials)[0];
}

function configurationFailure(connector, kind) {
  const connectivity = connector.connectivity ?? { type: "platform" };
  if (kind === "delegate_role" || kind === "irsa") {
    if (connectivity.type !== "delegate") return fail("configuration", null, `${kind} needs a delegate`);
    if (connectivity.delegate == null) {
      return fail("configuration", null, "no delegate matches the selectors");
    }
  } else if (connectivity.type === "delegate" && connectivity.delegate == null) {
    return fail("configuration", null, "no delegate matches the selectors");
  }
  if (kind !== "access_key" && kind !== "delegate_role" && kind !== "irsa") {
    return fail("configuration", null, `unknown credentials ${JSON.stringify(kind)}`);
  }
  return partitionMismatch(connector);
}

/** The partition of a region name (the protocol's regions are aws, aws-us-gov, aws-cn). */
function partitionOfRegion(region) {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

/** A failure when the cross-account Role ARN is in another partition than the test region:
 * GovCloud and standard AWS do not reach each other. */
function partitionMismatch(connector) {
  const parts = connector.cross_account ? connector.cross_account.role_arn.split(":") : [];
  if (parts.length < 2 || parts[0] !== "arn") return null;
  if (!["aws", "aws-us-gov", "aws-cn"].includes(parts[1])) return null;
  const region = connector.test_region;
  if (parts[1] === partitionOfRegion(region)) return null;
  return fail(
    "configuration",
    null,
    `the Role ARN is in partition ${parts[1]}, the test region ${region} is not`
  );
}

// What the SDK's credential providers say as they go (each link of the default chain logs
// at debug level why it was skipped): diagnostics, on stderr.
const providerLogger = {
  debug: (...args) => console.error(...args),
  info: (...args) => console.error(...args),
  warn: (...args) => console.error(...args),
  error: (...args) => console.error(...args),
};

/** The source credentials' provider, as the SDK's own providers build it. */
function sourceProvider(connector, kind, clientConfig) {
  if (kind === "access_key") {
    const key = connector.credentials.access_key;
    const credentials = { accessKeyId: key.access_key_id, secretAccessKey: key.secret_access_key };
    return async () => credentials;
  }
  if (kind === "irsa") return fromTokenFile({ clientConfig, logger: providerLogger });
  return fromNodeProviderChain({ clientConfig, logger: providerLogger });
}

async function connectionTest(request) {
  const connector = request.connector;
  const kind = credentialKind(connector.credentials);
  const configuration = configurationFailure(connector, kind);
  if (configuration) return { result: configuration };
  if (kind === "irsa" && !(process.env.AWS_ROLE_ARN && process.env.AWS_WEB_IDENTITY_TOKEN_FILE)) {
    return { result: fail("credentials", null, "no web identity on this delegate") };
  }
  const region = connector.test_region;
  const clientConfig = { region, requestHandler: REQUEST_HANDLER };

  // Resolve the source credentials first, so their failures are the credentials stage.
  // Each provider is resolved once and its credentials handed on (the SDK's providers
  // other than the default chain do not cache by themselves; each client would call them).
  let credentials;
  try {
    credentials = await sourceProvider(connector, kind, clientConfig)();
  } catch (error) {
    console.error("credentials:", error);
    return { result: fail("credentials", awsCode(error), describe(error)) };
  }

  const cross = connector.cross_account;
  if (cross) {
    const params = { RoleArn: cross.role_arn, RoleSessionName: SESSION_NAME };
    if (cross.external_id) params.ExternalId = cross.external_id;
    if (cross.session_duration_seconds) params.DurationSeconds = cross.session_duration_seconds;
    try {
      credentials = await fromTemporaryCredentials({
        masterCredentials: credentials,
        params,
        clientConfig,
      })();
    } catch (error) {
      console.error("assume_role:", error);
      return { result: fail("assume_role", awsCode(error), describe(error)) };
    }
  }

  const config = { ...clientConfig, credentials };
  let regions;
  try {
    const { Regions = [] } = await new EC2Client(config).send(new DescribeRegionsCommand({}));
    regions = Regions.map((r) => r.RegionName);
  } catch (error) {
    console.error("describe_regions:", error);
    return { result: fail("describe_regions", awsCode(error), describe(error)) };
  }
  try {
    const { Arn } = await new STSClient(config).send(new GetCallerIdentityCommand({}));
    return { result: { status: "success", regions, principal: Arn } };
  } catch (error) {
    console.error("caller_identity:", error);
    return { result: fail("caller_identity", awsCode(error), describe(error)) };
  }
}

// Whether a trust policy lets `service` assume the role: an Allow statement for
// sts:AssumeRole (or a wildcard covering it) whose Service principal names it.
function trusts(document, service) {
  const policy = JSON.parse(decodeURIComponent(document));
  const statements = [policy.Statement ?? []].flat();
  const names = (value, wanted) => [value ?? []].flat().some((v) => typeof v === "string" && wanted(v));
  const covers = (pattern) =>
    new RegExp(
      "^" + pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$"
    ).test("sts:assumerole");
  return statements.some(
    (s) =>
      s.Effect === "Allow" &&
      names(s.Principal?.Service, (p) => p === service) &&
      names(s.Action, covers)
  );
}

// The check's verdict: the actions its principal is not allowed (and, for a role that must
// trust a service, whether it does), from SimulatePrincipalPolicy.
async function deploymentCheck(request, principal) {
  const check = request.deployment_check;
  const account = principal.split(":")[4];
  const auditor = (check.auditors ?? {})[account];
  if (!auditor) throw new Error(`no auditor credentials for account ${account}`);
  const iam = new IAMClient({
    region: request.connector.test_region,
    requestHandler: REQUEST_HANDLER,
    credentials: {
      accessKeyId: auditor.access_key_id,
      secretAccessKey: auditor.secret_access_key,
    },
  });
  const verdict = {};
  let source = principal;
  if (check.role) {
    const role = (await iam.send(new GetRoleCommand({ RoleName: check.role }))).Role;
    source = role.Arn;
    if (check.trusts) verdict.trusted = trusts(role.AssumeRolePolicyDocument, check.trusts);
  } else if (principal.includes(":assumed-role/")) {
    const role = principal.split(":assumed-role/")[1].split("/")[0];
    source = (await iam.send(new GetRoleCommand({ RoleName: role }))).Role.Arn;
  }
  const sourceAccount = source.split(":")[4];
  const missing = new Set();
  for (const simulation of check.simulations) {
    const arns = simulation.resource_arns.map((a) => a.replaceAll("${Account}", sourceAccount));
    const ResourceArns = arns.length === 1 && arns[0] === "*" ? undefined : arns;
    let Marker;
    do {
      const page = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: source,
          ActionNames: simulation.actions,
          ResourceArns,
          Marker,
        })
      );
      for (const r of page.EvaluationResults ?? []) {
        if (r.EvalDecision !== "allowed") missing.add(r.EvalActionName);
      }
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);
  }
  verdict.missing_actions = [...missing].sort();
  return verdict;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  let { result } = await connectionTest(request);
  if (result.status === "success" && request.operation === "deployment_check") {
    try {
      Object.assign(result, await deploymentCheck(request, result.principal));
    } catch (error) {
      console.error("deployment_check:", error);
      result = fail("deployment_check", awsCode(error), describe(error));
    }
  }
  return result;
}

function emit(result) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

try {
  emit(await main());
} catch (error) {
  // A bug or a malformed request: still one result, and exit status 0.
  console.error("connector:", error);
  emit(fail("configuration", null, describe(error)));
}
