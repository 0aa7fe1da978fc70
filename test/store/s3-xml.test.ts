import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deleteBody,
  parseDeleteErrors,
  parseError,
  parseListPage,
  xmlCanCarry,
} from '../../src/store/s3-xml.js';

test('a ListObjectsV2 page: url-encoded keys decoded (space as +), entities unescaped, the next token when truncated', () => {
  const page = parseListPage(
    '<?xml version="1.0"?><ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>' +
      '<Contents><Key>a+b%2Bc/%C3%BC%01</Key><Size>3</Size></Contents><Contents><Key>bad%ZZ</Key><Size>0</Size></Contents>' +
      '<NextContinuationToken>t&amp;1&#x2F;</NextContinuationToken></ListBucketResult>',
  );
  assert.deepEqual(page, {
    objects: [
      { key: 'a b+c/ü\u0001', size: 3 },
      { key: 'bad%ZZ', size: 0 },
    ],
    nextToken: 't&1/',
  });
  // A service that ignored encoding-type: keys as they are; not truncated: no token.
  assert.deepEqual(
    parseListPage(
      '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b&lt;</Key><Size>1</Size></Contents></ListBucketResult>',
    ),
    { objects: [{ key: 'a+b<', size: 1 }], nextToken: undefined },
  );
});

test('errors and DeleteObjects: codes and messages read, keys escaped, what XML cannot carry detected', () => {
  assert.deepEqual(
    parseError(
      '<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>',
    ),
    {
      code: 'NoSuchBucket',
      message: 'The specified bucket does not exist',
    },
  );
  assert.deepEqual(parseError(''), { code: '', message: '' });
  assert.equal(
    deleteBody(['a&b', '<x>"\'']).replace(/^.*<Quiet>true<\/Quiet>/, ''),
    '<Object><Key>a&#38;b</Key></Object><Object><Key>&#60;x&#62;&#34;&#39;</Key></Object></Delete>',
  );
  assert.deepEqual(
    parseDeleteErrors(
      '<DeleteResult><Error><Key>k&amp;1</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>',
    ),
    [{ key: 'k&1', code: 'AccessDenied', message: 'no' }],
  );
  assert.equal(xmlCanCarry('tab\there\nü😀'), true);
  assert.equal(xmlCanCarry('a\u0001b'), false);
});
