import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseRotationToken } from '../../domain/identifiers.js';
import { TAG_MANAGED } from '../../domain/rotation-metadata.js';
import { AtlasSimulator } from '../../simulator/atlas-simulator.js';
import { loadConfig } from '../config/load-config.js';
import { buildContainer, disposeContainer } from './container.js';
import { TOKENS } from './tokens.js';

type Env = Readonly<Record<string, string | undefined>>;

async function stagesOf(client: SecretsManagerClient, secretId: string): Promise<string[]> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.entries(described.VersionIdsToStages ?? {})
    .filter(([, stages]) => (stages ?? []).length > 0)
    .map(([versionId, stages]) => `    version ${versionId}: ${(stages ?? []).join(', ')}`);
}

function atlasSecretsOf(simulator: AtlasSimulator, orgId: string, clientId: string): string[] {
  const account = simulator.serviceAccount(orgId, clientId);
  return (account?.secrets ?? []).map(
    (s) => `    Atlas secret ${s.id}: created ${s.createdAt}, expires ${s.expiresAt}`,
  );
}

/**
 * The embedded default: an Atlas simulator on loopback and the local AWS endpoint from AWS_ENDPOINT_URL,
 * a managed demo secret, one real rotation, and what changed. It prints ids and stages, never a value.
 */
export async function runDemo(env: Env, out: (text: string) => void): Promise<number> {
  if (env.AWS_ENDPOINT_URL === undefined || env.AWS_ENDPOINT_URL === '') {
    out('The demo needs a local AWS endpoint in AWS_ENDPOINT_URL; `npm start` starts one for you.\n');
    return 2;
  }
  const simulator = await AtlasSimulator.start();
  const region = env.AWS_REGION ?? 'us-east-1';
  const client = new SecretsManagerClient({ region, endpoint: env.AWS_ENDPOINT_URL });
  const config = loadConfig({
    ...env,
    AWS_REGION: region,
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    VERIFY_RETRY_DELAYS_MS: '100,200',
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  });
  const container = buildContainer(config);
  try {
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId, { name: 'demo-rotator', roles: ['ORG_OWNER'] });
    const secretName = `atlas-rotator-demo/${randomUUID().slice(0, 8)}`;
    await client.send(
      new CreateSecretCommand({
        Name: secretName,
        SecretString: JSON.stringify({
          clientId: account.clientId,
          clientSecret: account.secret,
          orgId,
          team: 'platform',
        }),
        Tags: [{ Key: TAG_MANAGED, Value: 'true' }],
      }),
    );
    out(`atlas-rotator demo\n`);
    out(`  Atlas simulator  ${simulator.baseUrl}\n  AWS endpoint     ${env.AWS_ENDPOINT_URL}\n`);
    out(`  secret           ${secretName} (org ${orgId}, service account ${account.clientId})\n\n`);
    out(`Before:\n${(await stagesOf(client, secretName)).join('\n')}\n`);
    out(`${atlasSecretsOf(simulator, orgId, account.clientId).join('\n')}\n\n`);

    simulator.clearRequests();
    const outcome = await container.get(TOKENS.rotateSecret).execute({
      secretId: secretName,
      token: parseRotationToken(randomUUID()),
    });
    out('Atlas calls made by the rotation:\n');
    for (const r of simulator.requests) out(`    ${r.method} ${r.path} -> ${r.status}\n`);
    out(`\nOutcome:\n${JSON.stringify(outcome, null, 2).replace(/^/gm, '    ')}\n\n`);
    out(`After:\n${(await stagesOf(client, secretName)).join('\n')}\n`);
    out(`${atlasSecretsOf(simulator, orgId, account.clientId).join('\n')}\n`);
    return outcome.status === 'completed' ? 0 : 1;
  } finally {
    await disposeContainer(container);
    client.destroy();
    await simulator.close();
  }
}
