"""Direct boto3 tests of each gap fill, through the emulator's HTTP server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def subnet_group(aws: Any) -> str:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    name = _name("unit-subnets")
    aws("memorydb").create_subnet_group(SubnetGroupName=name, SubnetIds=[subnet])
    return name


# ---------------------------------------------------------------- MemoryDB ACLs
def test_memorydb_acl_lifecycle(aws: Any) -> None:
    mdb = aws("memorydb")
    user, other, acl = _name("unit-user"), _name("unit-user2"), _name("unit-acl")
    mdb.create_user(UserName=user, AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"})
    mdb.create_user(UserName=other, AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"})

    created = mdb.create_acl(ACLName=acl, UserNames=[user], Tags=[{"Key": "k", "Value": "v"}])["ACL"]
    assert created["Status"] == "active" and created["UserNames"] == [user]
    described = mdb.describe_acls(ACLName=acl)["ACLs"]
    assert [a["Name"] for a in described] == [acl]
    assert described[0]["ARN"].endswith(f":acl/{acl}")
    assert mdb.list_tags(ResourceArn=created["ARN"])["TagList"] == [{"Key": "k", "Value": "v"}]
    assert acl in mdb.describe_users(UserName=user)["Users"][0]["ACLNames"]

    updated = mdb.update_acl(ACLName=acl, UserNamesToAdd=[other], UserNamesToRemove=[user])["ACL"]
    assert updated["UserNames"] == [other]
    assert mdb.describe_users(UserName=user)["Users"][0]["ACLNames"] == []

    with pytest.raises(ClientError) as exc:
        mdb.create_acl(ACLName=acl, UserNames=[other])
    assert _error_code(exc) == "ACLAlreadyExistsFault"

    mdb.delete_acl(ACLName=acl)
    with pytest.raises(ClientError) as exc:
        mdb.describe_acls(ACLName=acl)
    assert _error_code(exc) == "ACLNotFoundFault"


def test_memorydb_acl_rejects_unknown_user_and_keeps_open_access(aws: Any) -> None:
    mdb = aws("memorydb")
    with pytest.raises(ClientError) as exc:
        mdb.create_acl(ACLName=_name("unit-acl"), UserNames=["nobody-here"])
    assert _error_code(exc) == "UserNotFoundFault"
    names = [a["Name"] for a in mdb.describe_acls()["ACLs"]]
    assert "open-access" in names


# ---------------------------------------------------------------- MemoryDB parameter groups
def test_memorydb_parameter_group_lifecycle(aws: Any) -> None:
    mdb = aws("memorydb")
    name = _name("unit-pg")
    group = mdb.create_parameter_group(
        ParameterGroupName=name, Family="memorydb_valkey7", Description="d", Tags=[{"Key": "k", "Value": "v"}]
    )["ParameterGroup"]
    assert group == {
        "Name": name,
        "Family": "memorydb_valkey7",
        "Description": "d",
        "ARN": f"arn:aws:memorydb:us-east-1:123456789012:parametergroup/{name}",
    }
    assert mdb.describe_parameter_groups(ParameterGroupName=name)["ParameterGroups"] == [group]
    assert mdb.list_tags(ResourceArn=group["ARN"])["TagList"] == [{"Key": "k", "Value": "v"}]

    def value(group_name: str, param: str) -> str:
        params = mdb.describe_parameters(ParameterGroupName=group_name)["Parameters"]
        return next(p["Value"] for p in params if p["Name"] == param)

    # The provider reads the family's default group to tell user values from defaults.
    assert value("default.memorydb-valkey7", "maxmemory-policy") == "noeviction"
    mdb.update_parameter_group(
        ParameterGroupName=name,
        ParameterNameValues=[
            {"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"},
            {"ParameterName": "activedefrag", "ParameterValue": "yes"},
        ],
    )
    assert value(name, "maxmemory-policy") == "volatile-lru"
    assert value(name, "activedefrag") == "yes"
    assert value("default.memorydb-valkey7", "maxmemory-policy") == "noeviction"

    mdb.reset_parameter_group(ParameterGroupName=name, ParameterNames=["activedefrag"])
    assert value(name, "activedefrag") == "no"
    assert value(name, "maxmemory-policy") == "volatile-lru"
    mdb.reset_parameter_group(ParameterGroupName=name, AllParameters=True)
    assert value(name, "maxmemory-policy") == "noeviction"

    mdb.delete_parameter_group(ParameterGroupName=name)
    with pytest.raises(ClientError) as exc:
        mdb.describe_parameter_groups(ParameterGroupName=name)
    assert _error_code(exc) == "ParameterGroupNotFoundFault"


def test_memorydb_parameter_group_validation(aws: Any) -> None:
    mdb = aws("memorydb")
    name = _name("unit-pg")
    mdb.create_parameter_group(ParameterGroupName=name, Family="memorydb_redis7")
    with pytest.raises(ClientError) as exc:
        mdb.create_parameter_group(ParameterGroupName=name, Family="memorydb_redis7")
    assert _error_code(exc) == "ParameterGroupAlreadyExistsFault"
    with pytest.raises(ClientError) as exc:
        mdb.update_parameter_group(
            ParameterGroupName=name,
            ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "sometimes"}],
        )
    assert _error_code(exc) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        mdb.update_parameter_group(
            ParameterGroupName="default.memorydb-redis7",
            ParameterNameValues=[{"ParameterName": "activedefrag", "ParameterValue": "yes"}],
        )
    assert _error_code(exc) == "InvalidParameterGroupStateFault"
    with pytest.raises(ClientError) as exc:
        mdb.create_parameter_group(ParameterGroupName=_name("unit-pg"), Family="memorydb_redis99")
    assert _error_code(exc) == "InvalidParameterValueException"


# ---------------------------------------------------------------- MemoryDB clusters
def test_memorydb_cluster_keeps_engine_acl_and_parameter_group(aws: Any, subnet_group: str) -> None:
    mdb = aws("memorydb")
    user, acl, pg, cluster = _name("unit-user"), _name("unit-acl"), _name("unit-pg"), _name("unit-c")
    mdb.create_user(UserName=user, AccessString="on ~* +@all", AuthenticationMode={"Type": "iam"})
    mdb.create_acl(ACLName=acl, UserNames=[user])
    mdb.create_parameter_group(ParameterGroupName=pg, Family="memorydb_valkey7")
    created = mdb.create_cluster(
        ClusterName=cluster,
        NodeType="db.r6g.large",
        Engine="valkey",
        EngineVersion="7.2",
        ACLName=acl,
        ParameterGroupName=pg,
        SubnetGroupName=subnet_group,
        SnsTopicArn="arn:aws:sns:us-east-1:123456789012:alerts",
        TLSEnabled=True,
    )["Cluster"]
    got = mdb.describe_clusters(ClusterName=cluster)["Clusters"][0]
    for view in (created, got):
        assert (view["Engine"], view["EngineVersion"], view["EnginePatchVersion"]) == ("valkey", "7.2", "7.2.6")
        assert view["ACLName"] == acl and view["ParameterGroupName"] == pg
        assert view["SnsTopicStatus"] == "ACTIVE"
    assert mdb.describe_acls(ACLName=acl)["ACLs"][0]["Clusters"] == [cluster]

    # In use: AWS refuses to delete the ACL and the parameter group.
    for call, code in [
        (lambda: mdb.delete_acl(ACLName=acl), "InvalidACLStateFault"),
        (lambda: mdb.delete_parameter_group(ParameterGroupName=pg), "InvalidParameterGroupStateFault"),
    ]:
        with pytest.raises(ClientError) as exc:
            call()
        assert _error_code(exc) == code
    # Deleting a user removes it from every ACL (AWS DeleteUser semantics).
    mdb.delete_user(UserName=user)
    assert mdb.describe_acls(ACLName=acl)["ACLs"][0]["UserNames"] == []

    mdb.delete_cluster(ClusterName=cluster)
    assert mdb.describe_acls(ACLName=acl)["ACLs"][0]["Clusters"] == []
    mdb.delete_acl(ACLName=acl)
    mdb.delete_parameter_group(ParameterGroupName=pg)


def test_memorydb_cluster_rejects_unknown_references(aws: Any, subnet_group: str) -> None:
    mdb = aws("memorydb")
    base = {"ClusterName": _name("unit-c"), "NodeType": "db.t4g.small", "SubnetGroupName": subnet_group}
    with pytest.raises(ClientError) as exc:
        mdb.create_cluster(ACLName="no-such-acl", **base)
    assert _error_code(exc) == "ACLNotFoundFault"
    with pytest.raises(ClientError) as exc:
        mdb.create_cluster(ACLName="open-access", ParameterGroupName="no-such-group", **base)
    assert _error_code(exc) == "ParameterGroupNotFoundFault"
    # Redis default: engine/version/parameter group as AWS picks them.
    cluster = mdb.create_cluster(ACLName="open-access", **base)["Cluster"]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("redis", "7.1")
    assert cluster["ParameterGroupName"] == "default.memorydb-redis7"
    mdb.delete_cluster(ClusterName=base["ClusterName"])


# ---------------------------------------------------------------- ECS + Application Auto Scaling
@pytest.fixture(scope="module")
def ecs_service(aws: Any) -> dict[str, str]:
    ecs, ec2 = aws("ecs"), aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    cluster = _name("unit-cluster")
    ecs.create_cluster(clusterName=cluster)
    task = ecs.register_task_definition(
        family=_name("unit-task"),
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "app:1", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    service = _name("unit-svc")
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=task,
        desiredCount=2,
        healthCheckGracePeriodSeconds=60,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1}],
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        enableExecuteCommand=False,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "assignPublicIp": "DISABLED"}},
    )
    return {"cluster": cluster, "service": service}


def test_ecs_service_stores_create_settings(aws: Any, ecs_service: dict[str, str]) -> None:
    ecs = aws("ecs")
    svc = ecs.describe_services(cluster=ecs_service["cluster"], services=[ecs_service["service"]])["services"][0]
    assert svc["healthCheckGracePeriodSeconds"] == 60
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert svc["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}]
    assert "launchType" not in svc
    assert svc["enableExecuteCommand"] is False

    ecs.update_service(cluster=ecs_service["cluster"], service=ecs_service["service"], healthCheckGracePeriodSeconds=90)
    svc = ecs.describe_services(cluster=ecs_service["cluster"], services=[ecs_service["service"]])["services"][0]
    assert svc["healthCheckGracePeriodSeconds"] == 90


def test_appautoscaling_target_tags(aws: Any, ecs_service: dict[str, str]) -> None:
    aas = aws("application-autoscaling")
    resource_id = f"service/{ecs_service['cluster']}/{ecs_service['service']}"
    arn = aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=10,
        Tags={"Name": "unit"},
    )["ScalableTargetARN"]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Name": "unit"}
    aas.tag_resource(ResourceARN=arn, Tags={"Team": "sessions"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Name": "unit", "Team": "sessions"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["Name"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Team": "sessions"}

    aas.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount"
    )
    with pytest.raises(ClientError) as exc:
        aas.list_tags_for_resource(ResourceARN=arn)
    assert _error_code(exc) == "ResourceNotFoundException"


# ---------------------------------------------------------------- EC2
def test_security_group_rule_description_for_referenced_group(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_security_group(GroupName=_name("unit-a"), Description="a", VpcId=vpc)["GroupId"]
    b = ec2.create_security_group(GroupName=_name("unit-b"), Description="b", VpcId=vpc)["GroupId"]
    rule = ec2.authorize_security_group_ingress(
        GroupId=a,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": b, "Description": "from b"}]}
        ],
    )["SecurityGroupRules"][0]
    got = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])["SecurityGroupRules"]
    assert got[0]["Description"] == "from b"
    assert got[0]["ReferencedGroupInfo"]["GroupId"] == b


def test_security_group_rule_description_for_prefix_list(aws: Any) -> None:
    """Egress to the S3 gateway endpoint's prefix list keeps its description (AWS does)."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=_name("unit-pl"), Description="pl", VpcId=vpc)["GroupId"]
    prefix_list = ec2.describe_managed_prefix_lists()["PrefixLists"][0]["PrefixListId"]
    rule = ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "image layers from S3"}]}])["SecurityGroupRules"][0]
    got = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])["SecurityGroupRules"]
    assert got[0]["Description"] == "image layers from S3" and got[0]["PrefixListId"] == prefix_list


# ---------------------------------------------------------------- KMS
def test_kms_rotation_period_is_stored(aws: Any) -> None:
    kms = aws("kms")
    key = kms.create_key(Description="unit")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    assert status["KeyId"] == key["Arn"]
    assert "NextRotationDate" in status

    other = kms.create_key(Description="unit")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=other["KeyId"])
    assert kms.get_key_rotation_status(KeyId=other["KeyId"])["RotationPeriodInDays"] == 365
    with pytest.raises(ClientError) as exc:  # botocore checks the minimum; the server checks the maximum
        kms.enable_key_rotation(KeyId=other["KeyId"], RotationPeriodInDays=3000)
    assert _error_code(exc) == "ValidationException"
    kms.disable_key_rotation(KeyId=other["KeyId"])
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=other["KeyId"])
