/**
 * vitest setupFiles entry for the `integration` project: runs in each worker before the test files are imported
 * and points the AWS SDK (v3 reads AWS_ENDPOINT_URL itself) at the endpoint that global-setup.ts provided.
 */
import { inject } from 'vitest';

process.env.AWS_ENDPOINT_URL = inject('awsEndpoint');
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
