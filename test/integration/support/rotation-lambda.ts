/**
 * Registers a Lambda function on the emulator so that RotateSecret accepts a RotationLambdaARN and registers the
 * token's AWSPENDING placeholder, as AWS does before the rotation function's first step. Nothing runs the
 * function: LocalStack on the host has no Docker for Lambda, so its invoke fails and RotateSecret returns with
 * the placeholder in place (docs/adr/0006-aws-semantics-layer.md). That is all the tests need, since they call the
 * rotation function's steps themselves.
 *
 * There is no Lambda client among our dependencies, so this speaks the Lambda REST API with plain fetch. The
 * Authorization header only names the service and region (emulators route by it and do not check signatures):
 * this helper is for emulators only.
 */
import { crc32 } from 'node:zlib';

const API = '2015-03-31';

export interface RegisteredFunction {
  readonly arn: string;
  remove(): Promise<void>;
}

export async function registerRotationFunction(
  endpoint: string,
  name: string,
  region = 'us-east-1',
): Promise<RegisteredFunction> {
  const zip = storedZip('index.mjs', 'export const handler = async () => {};\n');
  const created = await call(endpoint, region, 'POST', `/${API}/functions`, {
    FunctionName: name,
    Runtime: 'nodejs22.x',
    Role: 'arn:aws:iam::000000000000:role/atlas-rotator-test',
    Handler: 'index.handler',
    Code: { ZipFile: zip.toString('base64') },
  });
  const arn = (created as { FunctionArn?: unknown }).FunctionArn;
  if (typeof arn !== 'string') throw new Error(`CreateFunction ${name} returned no FunctionArn`);
  return {
    arn,
    async remove() {
      await call(endpoint, region, 'DELETE', `/${API}/functions/${encodeURIComponent(name)}`);
    },
  };
}

async function call(
  endpoint: string,
  region: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const response = await fetch(new URL(path, endpoint), {
    method,
    headers: {
      'content-type': 'application/json',
      'x-amz-date': date,
      authorization: `AWS4-HMAC-SHA256 Credential=test/${date.slice(0, 8)}/${region}/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `Lambda ${method} ${path} answered ${response.status}: ${text.slice(0, 300)} ` +
        '(the emulator must run the lambda service: SERVICES=…,lambda)',
    );
  }
  return text === '' ? {} : JSON.parse(text);
}

/** A zip archive holding one file, stored uncompressed (all CreateFunction needs). */
function storedZip(fileName: string, content: string): Buffer {
  const name = Buffer.from(fileName, 'utf8');
  const data = Buffer.from(content, 'utf8');
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0, 6); // flags
  local.writeUInt16LE(0, 8); // method: stored
  local.writeUInt16LE(0, 10); // time
  local.writeUInt16LE(0x21, 12); // date: 1980-01-01
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x031e, 4); // made by: unix, 3.0
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(0, 10);
  central.writeUInt16LE(0, 12);
  central.writeUInt16LE(0x21, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(0, 30); // extra
  central.writeUInt16LE(0, 32); // comment
  central.writeUInt16LE(0, 34); // disk
  central.writeUInt16LE(0, 36); // internal attributes
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: regular file, 0644
  central.writeUInt32LE(0, 42); // offset of the local header
  const localSize = local.length + name.length + data.length;
  const centralSize = central.length + name.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(localSize, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([local, name, data, central, name, end]);
}
