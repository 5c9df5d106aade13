import { S3Client, PutObjectCommand, CreateBucketCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { SQSClient, CreateQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
const ep = 'http://127.0.0.1:45112';
async function iam(params) {
  const body = new URLSearchParams({ Version: '2010-05-08', ...params });
  const r = await fetch(ep + '/', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' } });
  const t = await r.text(); if (!r.ok) throw new Error(t); return t;
}
await iam({ Action: 'CreateUser', UserName: 'writer' });
const k = await iam({ Action: 'CreateAccessKey', UserName: 'writer' });
const id = /<AccessKeyId>(.*?)</.exec(k)[1], secret = /<SecretAccessKey>(.*?)</.exec(k)[1];
console.log(id, secret.length);
const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:CreateBucket', 'sqs:*'], Resource: '*' }] });
await iam({ Action: 'PutUserPolicy', UserName: 'writer', PolicyName: 'w', PolicyDocument: policy });
const s3 = (creds) => new S3Client({ region: 'us-east-1', endpoint: ep, forcePathStyle: true, credentials: creds, maxAttempts: 1 });
await s3({ accessKeyId: id, secretAccessKey: secret }).send(new CreateBucketCommand({ Bucket: 'bucket-one' }));
console.log(await (await fetch(ep + '/moto-api/reset-auth', { method: 'POST', body: '0' })).text());
const show = (e) => console.log(e.name, e.$metadata?.httpStatusCode, e.message);
await s3({ accessKeyId: id, secretAccessKey: secret }).send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'x' })).then(() => console.log('put ok'), show);
await s3({ accessKeyId: id, secretAccessKey: secret }).send(new DeleteObjectCommand({ Bucket: 'bucket-one', Key: 'k' })).then(() => console.log('del ok'), show);
await s3({ accessKeyId: id, secretAccessKey: 'wrong' }).send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'x' })).then(() => console.log('put ok'), show);
await s3({ accessKeyId: 'AKIANOTEXISTING00000', secretAccessKey: 'wrong' }).send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'x' })).then(() => console.log('put ok'), show);
await s3({ accessKeyId: id, secretAccessKey: secret, sessionToken: 'tok' }).send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'x' })).then(() => console.log('put ok'), show);
await s3({ accessKeyId: id, secretAccessKey: secret }).send(new PutObjectCommand({ Bucket: 'nope-bucket', Key: 'k', Body: 'x' })).then(() => console.log('put ok'), show);
const sqs = (creds) => new SQSClient({ region: 'us-east-1', endpoint: ep, credentials: creds, maxAttempts: 1 });
await sqs({ accessKeyId: 'AKIANOTEXISTING00000', secretAccessKey: 'wrong' }).send(new CreateQueueCommand({ QueueName: 'q' })).then(() => console.log('q ok'), show);
await sqs({ accessKeyId: id, secretAccessKey: 'wrong' }).send(new CreateQueueCommand({ QueueName: 'q' })).then(() => console.log('q ok'), show);
