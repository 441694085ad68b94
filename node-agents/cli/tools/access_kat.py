#!/usr/bin/env python3
"""Independent re-implementation of the access sealed box (kaisar_cli::access, version 1) with
Python's `cryptography` (X25519, ChaCha20-Poly1305) and a hand-written HChaCha20, to check the
known answer in access.rs (`known_answer_is_stable`). Prints the box of b"hi" sealed with ephemeral
secret [9]*32 to the user secret [7]*32."""
import hashlib, struct
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
def rotl(v,c): return ((v<<c)&0xffffffff)|(v>>(32-c))
def qr(s,a,b,c,d):
    s[a]=(s[a]+s[b])&0xffffffff; s[d]^=s[a]; s[d]=rotl(s[d],16)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]^=s[c]; s[b]=rotl(s[b],12)
    s[a]=(s[a]+s[b])&0xffffffff; s[d]^=s[a]; s[d]=rotl(s[d],8)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]^=s[c]; s[b]=rotl(s[b],7)
def hchacha20(key, nonce16):
    s=[0x61707865,0x3320646e,0x79622d32,0x6b206574]+list(struct.unpack('<8I',key))+list(struct.unpack('<4I',nonce16))
    for _ in range(10):
        qr(s,0,4,8,12);qr(s,1,5,9,13);qr(s,2,6,10,14);qr(s,3,7,11,15)
        qr(s,0,5,10,15);qr(s,1,6,11,12);qr(s,2,7,8,13);qr(s,3,4,9,14)
    return struct.pack('<8I',*(s[0:4]+s[12:16]))
user=X25519PrivateKey.from_private_bytes(bytes([7]*32)); upk=user.public_key().public_bytes_raw()
eph=X25519PrivateKey.from_private_bytes(bytes([9]*32)); epk=eph.public_key().public_bytes_raw()
shared=eph.exchange(user.public_key())
key=hashlib.blake2b(b"kaisar/access/v1/key"+shared+epk+upk,digest_size=32).digest()
nonce=hashlib.blake2b(b"kaisar/access/v1/nonce"+epk+upk,digest_size=24).digest()
sub=hchacha20(key,nonce[:16])
ct=ChaCha20Poly1305(sub).encrypt(b"\0"*4+nonce[16:],b"hi",b"\x01")
print((b"\x01"+epk+ct).hex())
