#!/bin/sh
# Regenerates the test keys and certificates here (OpenSSL CLI). They are test data
# only: a CA (ECDSA P-256) -> intermediate (RSA 2048) -> leaf (Ed25519) chain valid for
# 100 years, an unrelated CA, and one key per remaining type.
set -e
cd "$(dirname "$0")"
days=36500
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl req -x509 -new -key ca.key -subj "/O=vpnd test/CN=vpnd test CA" -days $days \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out ca.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out intermediate.key
openssl req -new -key intermediate.key -subj "/O=vpnd test/CN=vpnd test intermediate" \
	-out intermediate.csr
openssl x509 -req -in intermediate.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days $days \
	-extfile /dev/stdin -extensions v3 -out intermediate.pem <<EXT
[v3]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
EXT
openssl genpkey -algorithm ED25519 -out leaf.key
openssl req -new -key leaf.key -subj "/O=vpnd test/CN=gateway.vpnd.test" -out leaf.csr
openssl x509 -req -in leaf.csr -CA intermediate.pem -CAkey intermediate.key -set_serial 3 \
	-days $days -extfile /dev/stdin -extensions v3 -out leaf.pem <<EXT
[v3]
basicConstraints=critical,CA:FALSE
subjectAltName=DNS:gateway.vpnd.test
EXT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other-ca.key
openssl req -x509 -new -key other-ca.key -subj "/O=vpnd test/CN=unrelated CA" -days $days \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out other-ca.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ecdsa-p384.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ecdsa-p521.key
openssl genpkey -algorithm ED448 -out ed448.key
rm -f ./*.csr ./*.srl
