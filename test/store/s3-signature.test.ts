import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { describeS3, parseS3Url } from '../../src/store/s3-config.js';
import { amzDate, encodeKeyPath, sha256Hex, signRequest } from '../../src/store/s3-signature.js';

// The examples of AWS's S3 documentation ("Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk"): their keys, dates and signatures.
const S3_DOC_KEYS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const DATE = '20130524T000000Z';
const EMPTY = sha256Hex('');
const HOST = 'examplebucket.s3.amazonaws.com';

test('SigV4 matches AWS S3 documentation example GET Object (canonical request, string to sign, signature)', () => {
  const sig = signRequest(
    {
      method: 'GET',
      path: '/test.txt',
      query: [],
      headers: { Host: HOST, Range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY, 'x-amz-date': DATE },
      payloadHash: EMPTY,
      region: 'us-east-1',
      service: 's3',
      amzDate: DATE,
    },
    S3_DOC_KEYS,
  );
  assert.equal(
    sig.canonicalRequest,
    `GET\n/test.txt\n\nhost:${HOST}\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY}\nx-amz-date:${DATE}\n\nhost;range;x-amz-content-sha256;x-amz-date\n${EMPTY}`,
  );
  assert.equal(
    sig.stringToSign,
    `AWS4-HMAC-SHA256\n${DATE}\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972`,
  );
  assert.equal(
    sig.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

test('SigV4 matches the S3 examples PUT Object (a key needing encoding, a signed body) and GET Bucket (a query)', () => {
  const body = 'Welcome to Amazon S3.';
  const hash = sha256Hex(body);
  assert.equal(hash, '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
  const put = signRequest(
    {
      method: 'PUT',
      path: `/${encodeKeyPath('test$file.text')}`,
      query: [],
      headers: {
        Host: HOST,
        Date: 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-content-sha256': hash,
        'x-amz-date': DATE,
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash: hash,
      region: 'us-east-1',
      service: 's3',
      amzDate: DATE,
    },
    S3_DOC_KEYS,
  );
  assert.match(put.canonicalRequest, /^PUT\n\/test%24file\.text\n/);
  assert.equal(put.signature, '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  const list = signRequest(
    {
      method: 'GET',
      path: '/',
      query: [
        ['prefix', 'J'],
        ['max-keys', '2'],
      ],
      headers: { Host: HOST, 'x-amz-content-sha256': EMPTY, 'x-amz-date': DATE },
      payloadHash: EMPTY,
      region: 'us-east-1',
      service: 's3',
      amzDate: DATE,
    },
    S3_DOC_KEYS,
  );
  assert.match(list.canonicalRequest, /^GET\n\/\nmax-keys=2&prefix=J\n/);
  assert.equal(list.signature, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
});

test('SigV4 matches the AWS test suite vector get-vanilla-query-order-key-case', () => {
  const sig = signRequest(
    {
      method: 'GET',
      path: '/',
      query: [
        ['Param2', 'value2'],
        ['Param1', 'value1'],
      ],
      headers: { Host: 'example.amazonaws.com', 'X-Amz-Date': '20150830T123600Z' },
      payloadHash: EMPTY,
      region: 'us-east-1',
      service: 'service',
      amzDate: '20150830T123600Z',
    },
    { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  );
  assert.equal(sig.signature, 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
});

test('key paths encode everything but unreserved characters and the slashes', () => {
  assert.equal(encodeKeyPath("a b/ü+*'()!%/~._-"), 'a%20b/%C3%BC%2B%2A%27%28%29%21%25/~._-');
  assert.equal(amzDate(new Date('2013-05-24T00:00:00.123Z')), DATE);
});

const ENV = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'very-secret', AWS_SESSION_TOKEN: 'tok' };

test('s3:// URLs: bucket, prefix, endpoint, region and addressing; credentials only from the environment', () => {
  const c = parseS3Url(
    new URL('s3://snaps/periscope/prod?endpoint=http://127.0.0.1:8333&region=eu-west-1'),
    ENV,
  );
  assert.equal(c.bucket, 'snaps');
  assert.equal(c.prefix, 'periscope/prod/');
  assert.equal(c.endpoint.origin, 'http://127.0.0.1:8333');
  assert.equal(c.region, 'eu-west-1');
  assert.equal(c.pathStyle, true);
  assert.deepEqual(c.credentials, {
    accessKeyId: 'AKID',
    secretAccessKey: 'very-secret',
    sessionToken: 'tok',
  });
  const text = describeS3(c);
  assert.doesNotMatch(text, /very-secret|AKID|tok\b/);
  const aws = parseS3Url(new URL('s3://snaps'), { ...ENV, AWS_REGION: 'ap-south-1' });
  assert.equal(aws.endpoint.origin, 'https://s3.ap-south-1.amazonaws.com');
  assert.equal(aws.pathStyle, false);
  assert.equal(aws.prefix, '');
  const usage = (re: RegExp) => (e: unknown) =>
    e instanceof PeriscopeError && e.kind === 'bad-usage' && re.test(e.message);
  assert.throws(
    () => parseS3Url(new URL('s3://AKID:secret@snaps/'), ENV),
    usage(/credentials are not accepted/),
  );
  assert.throws(() => parseS3Url(new URL('s3://snaps/?endpoint=ftp://x'), ENV), usage(/not http/));
  assert.throws(() => parseS3Url(new URL('s3://snaps/?bucket=x'), ENV), usage(/unknown parameter "bucket"/));
  assert.throws(() => parseS3Url(new URL('s3://Bad_Bucket/'), ENV), usage(/not a valid S3 bucket name/));
  assert.throws(
    () => parseS3Url(new URL('s3://snaps/'), {}),
    usage(/set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/),
  );
  assert.throws(
    () => parseS3Url(new URL('s3://snaps/'), { ...ENV, AWS_SECRET_ACCESS_KEY: 'very-secret\n' }),
    usage(/^AWS_SECRET_ACCESS_KEY holds a space or a character that is not printable ASCII/),
  );
});
