"""Creates the topology's resources in an emulator and reports their physical ids.

Resources are created in dependency order (tables, KMS keys and their aliases, topics, dead-letter
queues, queues, subscriptions, buckets with their notifications, user pools and their clients) and
named `<stack>-<LogicalId>` unless serverless.yml gives a name, as CloudFormation would.
"""

from __future__ import annotations

import json
from typing import Any

from local.topology import KmsKey, PhysicalIds, Queue, Topology, UserPool, UserPoolClient, resolve

ACCOUNT_ID = "123456789012"
# Queue attributes that CloudFormation properties map onto one to one.
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds")
# Cognito properties that CreateUserPool and CreateUserPoolClient take under the same names.
_USER_POOL_SETTINGS = ("AdminCreateUserConfig", "UsernameAttributes", "AutoVerifiedAttributes", "Policies")
_CLIENT_SETTINGS = ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors")


class Provisioner:
    def __init__(self, topology: Topology, session: Any, account_id: str = ACCOUNT_ID):
        self.topology = topology
        self.session = session
        self.region = topology.region
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}
        self._clients: dict[str, Any] = {}
        self.pseudo = {
            "AWS::AccountId": account_id,
            "AWS::Region": self.region,
            "AWS::StackName": topology.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    @property
    def ids(self) -> PhysicalIds:
        return PhysicalIds(self.refs, self.attributes, self.pseudo)

    def _client(self, service: str) -> Any:
        # Building a boto3 client costs tens of milliseconds; provisioning needs each one many times.
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def plan(self, endpoint: str) -> PhysicalIds:
        """The ids `provision` will report, worked out without calling the emulator.

        The stack starts the functions' workers with these while it provisions, then checks them
        against the real ones. Queue URLs follow moto's form; an emulator that forms them otherwise
        shows up in that check. User pools get random ids and are not planned. KMS keys get random
        ids too: functions name a key by its alias, which is planned; the key's own id and ARN are
        placeholders here, used only by the IAM layer until it is configured with the real ones.
        """
        account = self.pseudo["AWS::AccountId"]
        refs: dict[str, str] = {}
        attributes: dict[tuple[str, str], str] = {}
        planned = PhysicalIds(refs, attributes, self.pseudo)
        for table in self.topology.tables:
            name = resolve(table.properties, planned).get("TableName") or self._name(table.logical_id)
            refs[table.logical_id] = name
            attributes[(table.logical_id, "Arn")] = f"arn:aws:dynamodb:{self.region}:{account}:table/{name}"
        for topic in self.topology.topics:
            name = self._name(topic.logical_id)
            refs[topic.logical_id] = attributes[(topic.logical_id, "TopicArn")] = self._arn("sns", name)
            attributes[(topic.logical_id, "TopicName")] = name
        for queue in self.topology.queues:
            name = queue.properties.get("QueueName") or self._name(queue.logical_id)
            url = f"{endpoint}/{account}/{name}"
            refs[queue.logical_id] = attributes[(queue.logical_id, "QueueUrl")] = url
            attributes[(queue.logical_id, "Arn")] = self._arn("sqs", name)
            attributes[(queue.logical_id, "QueueName")] = name
        for bucket in self.topology.buckets:
            name = resolve(bucket.name, planned) if bucket.name else self._name(bucket.logical_id).lower()
            refs[bucket.logical_id] = name
            attributes[(bucket.logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        for key in self.topology.kms_keys:
            refs[key.logical_id] = f"planned-{key.logical_id}"
            attributes[(key.logical_id, "Arn")] = self._arn("kms", f"key/planned-{key.logical_id}")
        for alias in self.topology.kms_aliases:
            refs[alias.logical_id] = resolve(alias.name, planned)
        return planned

    def _name(self, logical_id: str) -> str:
        return f"{self.topology.stack_name}-{logical_id}"

    def _arn(self, service: str, name: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.pseudo['AWS::AccountId']}:{name}"

    def provision(self) -> PhysicalIds:
        for table in self.topology.tables:
            self._table(table.logical_id, table.properties)
        for key in self.topology.kms_keys:
            self._kms_key(key)
        for alias in self.topology.kms_aliases:
            name = resolve(alias.name, self.ids)
            self._client("kms").create_alias(AliasName=name, TargetKeyId=self.refs[alias.key])
            self.refs[alias.logical_id] = name
        for topic in self.topology.topics:
            arn = self._client("sns").create_topic(Name=self._name(topic.logical_id))["TopicArn"]
            self.refs[topic.logical_id] = arn
            self.attributes[(topic.logical_id, "TopicArn")] = arn
            self.attributes[(topic.logical_id, "TopicName")] = arn.rsplit(":", 1)[1]
        # Dead-letter queues first: a redrive policy names its target by ARN.
        queues = sorted(self.topology.queues, key=lambda q: q.dead_letter_queue is not None)
        for queue in queues:
            self._queue(queue)
        for subscription in self.topology.subscriptions:
            self._client("sns").subscribe(
                TopicArn=self.refs[subscription.topic],
                Protocol="sqs",
                Endpoint=self.attributes[(subscription.queue, "Arn")],
                Attributes={"RawMessageDelivery": "true" if subscription.raw_message_delivery else "false"},
                ReturnSubscriptionArn=True,
            )
        for bucket in self.topology.buckets:
            self._bucket(bucket)
        for pool in self.topology.user_pools:
            self._user_pool(pool)
        for client in self.topology.user_pool_clients:
            self._user_pool_client(client)
        return self.ids

    def _kms_key(self, key: KmsKey) -> None:
        """A symmetric key; its key policy is not reproduced: the IAM layer decides who may use it."""
        properties = resolve(dict(key.properties), self.ids)
        created = self._client("kms").create_key(Description=str(properties.get("Description", "")))["KeyMetadata"]
        self.refs[key.logical_id] = created["KeyId"]
        self.attributes[(key.logical_id, "Arn")] = created["Arn"]

    def _user_pool(self, pool: UserPool) -> None:
        properties = resolve(dict(pool.properties), self.ids)
        settings = {k: properties[k] for k in _USER_POOL_SETTINGS if k in properties}
        name = properties.get("UserPoolName") or self._name(pool.logical_id)
        created = self._client("cognito-idp").create_user_pool(PoolName=name, **settings)["UserPool"]
        self.refs[pool.logical_id] = created["Id"]
        self.attributes[(pool.logical_id, "Arn")] = created["Arn"]
        self.attributes[(pool.logical_id, "ProviderURL")] = f"cognito-idp.{self.region}.amazonaws.com/{created['Id']}"

    def _user_pool_client(self, client: UserPoolClient) -> None:
        properties = resolve(dict(client.properties), self.ids)
        settings = {k: properties[k] for k in _CLIENT_SETTINGS if k in properties}
        created = self._client("cognito-idp").create_user_pool_client(
            UserPoolId=self.refs[client.user_pool],
            ClientName=properties.get("ClientName") or client.logical_id,
            **settings,
        )["UserPoolClient"]
        self.refs[client.logical_id] = created["ClientId"]

    def _table(self, logical_id: str, properties: Any) -> None:
        properties = resolve(properties, self.ids)
        name = properties.get("TableName") or self._name(logical_id)
        arguments = {
            "TableName": name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if properties.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        description = self._client("dynamodb").create_table(**arguments)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled")).lower() == "true":
            # moto records the setting but never deletes expired items; the code never relies on it.
            self._client("dynamodb").update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        self.refs[logical_id] = name
        self.attributes[(logical_id, "Arn")] = description["TableArn"]

    def _queue(self, queue: Queue) -> None:
        properties = resolve(dict(queue.properties), self.ids)
        name = properties.get("QueueName") or self._name(queue.logical_id)
        attributes = {k: str(properties[k]) for k in _QUEUE_ATTRIBUTES if k in properties}
        if queue.dead_letter_queue:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": self.attributes[(queue.dead_letter_queue, "Arn")],
                    "maxReceiveCount": queue.max_receive_count,
                }
            )
        url = self._client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.refs[queue.logical_id] = url
        self.attributes[(queue.logical_id, "Arn")] = self._arn("sqs", name)
        self.attributes[(queue.logical_id, "QueueName")] = name
        self.attributes[(queue.logical_id, "QueueUrl")] = url

    def _bucket(self, bucket: Any) -> None:
        name = resolve(bucket.name, self.ids) if bucket.name else self._name(bucket.logical_id).lower()
        s3 = self._client("s3")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        self.refs[bucket.logical_id] = name
        self.attributes[(bucket.logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        if bucket.versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if bucket.cors_rules:
            rules = [_cors_rule(resolve(dict(rule), self.ids)) for rule in bucket.cors_rules]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        if bucket.notifications:
            configurations = []
            for notification in bucket.notifications:
                rules = [
                    {"Name": kind, "Value": value}
                    for kind, value in (("prefix", notification.prefix), ("suffix", notification.suffix))
                    if value
                ]
                configuration: dict[str, Any] = {
                    "TopicArn": self.refs[notification.topic],
                    "Events": [notification.event],
                }
                if rules:
                    configuration["Filter"] = {"Key": {"FilterRules": rules}}
                configurations.append(configuration)
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"TopicConfigurations": configurations}
            )


# CloudFormation's CorsRule names three properties differently from the S3 API.
_CORS_API_NAMES = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders", "Id": "ID"}


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {_CORS_API_NAMES.get(name, name): value for name, value in rule.items()}


def allow_origin(s3: Any, bucket: str, origin: str) -> None:
    """Add an origin to every CORS rule of a bucket that has rules.

    The local stack's API gets a free port at start, and its console (served by that API) uploads
    from that origin: locally it is what the `consoleOrigin` stage parameter names on AWS.
    """
    from botocore.exceptions import ClientError

    try:
        rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except ClientError:
        return  # no CORS configuration: nothing to extend
    for rule in rules:
        if origin not in rule["AllowedOrigins"]:
            rule["AllowedOrigins"].append(origin)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
