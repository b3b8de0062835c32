#!/bin/sh
# The configuration documents `s3inv doctor --config DIR` reads, for the replication of one
# source bucket, exported with read-only AWS CLI calls.
#   printed by: s3inv doctor --print-collect-script @SRC_SHOWN@
#   run:        OUT=DIR sh collect.sh       (OUT defaults to the current folder)
#   then:       s3inv doctor LOCATION --config DIR
#
# What it reads (get-, list- and describe- calls only; nothing is changed):
#   replication.json           s3api get-bucket-replication, the source bucket
#   src.DOC.json               the source bucket: versioning, ownership (controls),
#                              object-lock, encryption, acl, location, policy
#   dst/BUCKET.DOC.json        each Destination.Bucket of the rules: versioning, ownership,
#                              object-lock, encryption, public-access-block, policy,
#                              request-payment, location
#   iam/role.json              iam get-role, the configuration's Role
#   iam/inline/POLICY.json     iam get-role-policy, each inline policy of the role
#   iam/attached/POLICY.json   iam get-policy-version (the default version), each policy
#                              attached to the role
#   kms/KEY.describe.json      kms describe-key and get-key-policy, for each ReplicaKmsKeyID
#   kms/KEY.policy.json        and the source's default KMS key (KEY: the key id, or
#                              alias-NAME for an alias)
# A call that fails leaves NAME.err instead of NAME.json, holding the CLI's error line. An
# absent configuration is such an error (NoSuchBucketPolicy, ...), and so is a missing
# permission (AccessDenied); the doctor reads both. iam/inline.err and iam/attached.err say
# that the role's policies could not be listed.
#
# Read permissions it needs:
#   s3:GetReplicationConfiguration s3:GetBucketVersioning s3:GetBucketOwnershipControls
#   s3:GetBucketObjectLockConfiguration s3:GetEncryptionConfiguration s3:GetBucketAcl
#   s3:GetBucketLocation s3:GetBucketPolicy s3:GetBucketPublicAccessBlock
#   s3:GetBucketRequestPayment iam:GetRole iam:ListRolePolicies iam:GetRolePolicy
#   iam:ListAttachedRolePolicies iam:GetPolicy iam:GetPolicyVersion kms:DescribeKey
#   kms:GetKeyPolicy
#
# Credentials are the AWS CLI's own (AWS_PROFILE, environment, SSO, instance role). When the
# destination buckets and their KMS keys belong to another account, name a profile of that
# account:  DEST_PROFILE=dr-account sh collect.sh
# Needs the AWS CLI (v1 or v2) and a POSIX shell; not jq.

# -f: values read from the configuration are split into words, never expanded as patterns.
set -uf
SRC=@SRC@
OUT=${OUT:-.}
# Neither a pager nor the user's default output format may get in the way.
AWS_PAGER=
export AWS_PAGER
mkdir -p "$OUT/dst" "$OUT/iam/inline" "$OUT/iam/attached" "$OUT/kms" || exit 1

# tidy FILE: the CLI's error text without the blank lines around it.
tidy() {
    grep -v '^[[:space:]]*$' "$1" >"$1.tmp"
    mv "$1.tmp" "$1"
}

# save NAME AWS...: the command's JSON in NAME.json, or its error in NAME.err.
save() {
    file=$OUT/$1
    shift
    if "$@" --output json >"$file.json" 2>"$file.err"; then
        rm -f "$file.err"
        # For a bucket never versioned the CLI prints nothing at all.
        [ -s "$file.json" ] || echo '{}' >"$file.json"
    else
        rm -f "$file.json"
        tidy "$file.err"
    fi
}

# values AWS... --query Q: the values Q selects, one a line; none when the call fails (its
# document's .err already says why).
values() {
    "$@" --output text 2>/dev/null | tr '\t' '\n' | grep -v -e '^None$' -e '^$' | sort -u
}

# list NAME AWS... --query Q: like values, but a failure leaves NAME.err.
list() {
    file=$OUT/$1
    shift
    if listed=$("$@" --output text 2>"$file.err"); then
        rm -f "$file.err"
        printf '%s\n' "$listed" | tr '\t' '\n' | grep -v -e '^None$' -e '^$' | sort -u
    else
        tidy "$file.err"
    fi
}

# The destination account's credentials, when DEST_PROFILE names them.
aws_dst() {
    aws ${DEST_PROFILE:+--profile "$DEST_PROFILE"} "$@"
}

# key_id KEY: the file name of a KMS key: the last part of a key ARN or id, alias-NAME for
# an alias (any / in it a -).
key_id() {
    case $1 in
    alias/*) printf 'alias-%s\n' "${1#alias/}" ;;
    arn:*:alias/*) printf 'alias-%s\n' "${1#*:alias/}" ;;
    *) printf '%s\n' "${1##*/}" ;;
    esac | tr '/' '-'
}

# kms KEY REGION AWS...: KEY's description and key policy, in the region of KEY's ARN, else
# REGION, else the CLI's default one. A key already exported is not exported again.
KEYS_DONE=
kms() {
    key=$1 region=$2
    shift 2
    id=$(key_id "$key")
    case " $KEYS_DONE " in *" $id "*) return ;; esac
    KEYS_DONE="$KEYS_DONE $id"
    case $key in
    arn:*)
        arn_region=$(printf '%s\n' "$key" | cut -d: -f4)
        [ -z "$arn_region" ] || region=$arn_region
        ;;
    esac
    save "kms/$id.describe" "$@" kms describe-key --key-id "$key" ${region:+--region "$region"}
    # get-key-policy takes no alias: ask for the key the alias points to.
    policy_key=$key
    case $key in
    alias/* | arn:*:alias/*)
        if [ -f "$OUT/kms/$id.describe.json" ]; then
            policy_key=$(values "$@" kms describe-key --key-id "$key" \
                ${region:+--region "$region"} --query KeyMetadata.Arn)
        fi
        ;;
    esac
    save "kms/$id.policy" "$@" kms get-key-policy --key-id "$policy_key" \
        --policy-name default ${region:+--region "$region"}
}

# The source bucket.
save replication aws s3api get-bucket-replication --bucket "$SRC"
save src.versioning aws s3api get-bucket-versioning --bucket "$SRC"
save src.ownership aws s3api get-bucket-ownership-controls --bucket "$SRC"
save src.object-lock aws s3api get-object-lock-configuration --bucket "$SRC"
save src.encryption aws s3api get-bucket-encryption --bucket "$SRC"
save src.acl aws s3api get-bucket-acl --bucket "$SRC"
save src.location aws s3api get-bucket-location --bucket "$SRC"
save src.policy aws s3api get-bucket-policy --bucket "$SRC"

# What the replication configuration names: destination buckets, role, replica keys.
DESTS= ROLE= REPLICA_KEYS=
if [ -f "$OUT/replication.json" ]; then
    DESTS=$(values aws s3api get-bucket-replication --bucket "$SRC" \
        --query 'ReplicationConfiguration.Rules[].Destination.Bucket')
    ROLE=$(values aws s3api get-bucket-replication --bucket "$SRC" \
        --query 'ReplicationConfiguration.Role')
    REPLICA_KEYS=$(values aws s3api get-bucket-replication --bucket "$SRC" \
        --query 'ReplicationConfiguration.Rules[].Destination.EncryptionConfiguration.ReplicaKmsKeyID')
fi

# Each destination bucket (arn:aws:s3:::BUCKET).
for arn in $DESTS; do
    b=${arn##*:}
    save "dst/$b.versioning" aws_dst s3api get-bucket-versioning --bucket "$b"
    save "dst/$b.ownership" aws_dst s3api get-bucket-ownership-controls --bucket "$b"
    save "dst/$b.object-lock" aws_dst s3api get-object-lock-configuration --bucket "$b"
    save "dst/$b.encryption" aws_dst s3api get-bucket-encryption --bucket "$b"
    save "dst/$b.public-access-block" aws_dst s3api get-public-access-block --bucket "$b"
    save "dst/$b.policy" aws_dst s3api get-bucket-policy --bucket "$b"
    save "dst/$b.request-payment" aws_dst s3api get-bucket-request-payment --bucket "$b"
    save "dst/$b.location" aws_dst s3api get-bucket-location --bucket "$b"
done

# The replication role (arn:aws:iam::ACCOUNT:role/PATH/NAME) and its policies.
if [ -n "$ROLE" ]; then
    role=${ROLE##*/}
    save iam/role aws iam get-role --role-name "$role"
    for p in $(list iam/inline aws iam list-role-policies --role-name "$role" \
        --query 'PolicyNames[]'); do
        save "iam/inline/$p" aws iam get-role-policy --role-name "$role" --policy-name "$p"
    done
    for parn in $(list iam/attached aws iam list-attached-role-policies --role-name "$role" \
        --query 'AttachedPolicies[].PolicyArn'); do
        pname=iam/attached/${parn##*/}
        if version=$(aws iam get-policy --policy-arn "$parn" \
            --query Policy.DefaultVersionId --output text 2>"$OUT/$pname.err"); then
            save "$pname" aws iam get-policy-version --policy-arn "$parn" --version-id "$version"
        else
            rm -f "$OUT/$pname.json"
            tidy "$OUT/$pname.err"
        fi
    done
fi

# KMS keys: each replica key (the destination account's), then the source's default key
# (a key id alone is in the source bucket's region).
for key in $REPLICA_KEYS; do
    kms "$key" "" aws_dst
done
if [ -f "$OUT/src.encryption.json" ]; then
    SRC_REGION=
    if [ -f "$OUT/src.location.json" ]; then
        SRC_REGION=$(values aws s3api get-bucket-location --bucket "$SRC" \
            --query LocationConstraint)
        case $SRC_REGION in
        '') SRC_REGION=us-east-1 ;;
        EU) SRC_REGION=eu-west-1 ;;
        esac
    fi
    for key in $(values aws s3api get-bucket-encryption --bucket "$SRC" \
        --query 'ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault.KMSMasterKeyID'); do
        kms "$key" "$SRC_REGION" aws
    done
fi

echo "s3inv: configuration documents written to $OUT" >&2
