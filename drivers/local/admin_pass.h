/* SPDX-License-Identifier: MIT */
/*
 * admin_pass.h: porter-admin pass, the admin's side of visitor passes.
 *
 *   porter-admin pass keygen --private FILE --public FILE
 *   porter-admin pass issue --key FILE --visitor ID --valid-from T
 *                           --valid-until T [--single-use] [--id ID] [--png FILE]
 *
 * keygen makes an Ed25519 key pair: the private key 0600 (it mints passes:
 * it stays with the admin), the public key 0644 (it goes to every door's
 * visitor_pass.public_keys); it never overwrites a file. issue prints the
 * pass (visitor_pass.h) and writes it as a QR code image an admin attaches
 * to an e-mail (libqrencode, PNG through libpng).
 */
#ifndef PORTER_ADMIN_PASS_H
#define PORTER_ADMIN_PASS_H

int admin_pass_main(int argc, char **argv);

#endif
