/* The commands of `fieldmesh`.  Each takes the arguments that follow its
 * command words and returns the exit code (FMC_HELP after --help). */
#ifndef FIELDMESH_CLI_CMD_H
#define FIELDMESH_CLI_CMD_H

#include "cli.h"

/* cmd_identity.c */
int fmc_cmd_init(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_authority_init(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_enroll(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_join(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_revoke(fmc_ctx *c, int argc, char **argv);

/* cmd_vocab.c */
int fmc_cmd_authority_villages(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_authority_places(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_authority_teams(fmc_ctx *c, int argc, char **argv);

/* cmd_members.c */
int fmc_cmd_members(fmc_ctx *c, int argc, char **argv);

/* cmd_visit.c */
int fmc_cmd_visit_add(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_visit_list(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_visit_void(fmc_ctx *c, int argc, char **argv);

/* cmd_dossier.c */
int fmc_cmd_dossier_add(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_status(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_correct(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_attach(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_attachments(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_attachment(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_visit_show(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_show(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_dossier_list(fmc_ctx *c, int argc, char **argv);

/* cmd_sync.c */
int fmc_cmd_vector_export(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_bundle_export(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_bundle_import(fmc_ctx *c, int argc, char **argv);

/* cmd_status.c */
int fmc_cmd_status(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_verify(fmc_ctx *c, int argc, char **argv);

/* cmd_doctor.c */
int fmc_cmd_doctor(fmc_ctx *c, int argc, char **argv);

/* cmd_recover.c */
int fmc_cmd_recover(fmc_ctx *c, int argc, char **argv);

/* cmd_report.c */
int fmc_cmd_report(fmc_ctx *c, int argc, char **argv);
int fmc_cmd_procedures(fmc_ctx *c, int argc, char **argv);

/* bulletin.c */
int fmc_cmd_report_bulletin(fmc_ctx *c, int argc, char **argv);

/* cmd_web.c */
int fmc_cmd_web_password(fmc_ctx *c, int argc, char **argv);

#endif
