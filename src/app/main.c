/* main.c: somscope, the GTK front end
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "somscope-application.h"

int
main (int argc, char **argv)
{
  SomscopeApplication *app;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = somscope_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_object_unref (app);

  /* OpenBLAS 0.3.21 (Debian 12) can deadlock in its exit handler, joining a
   * worker thread that missed its wake-up (seen under Xvfb in about one exit in
   * three once trainers had run).  Everything of ours is torn down by now, so
   * leave without running library destructors. */
  fflush (stdout);
  fflush (stderr);
  _exit (status);
}
