#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2026 mecm.fieldkit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: report_files
short_description: Write report files on the Ansible controller in one task
version_added: 0.1.0
description:
  - Writes several files (JSON results, JUnit XML, Markdown) into one directory on the controller, in one task and
    without a module execution per file, so a report for hundreds of hosts costs one task.
  - Text is written as given; dictionaries and lists are written as indented JSON.
  - A file whose content is already the same is not rewritten; the result is changed when a file was written
    (or, with O(mode), when only its mode had to be corrected).
  - All or nothing. O(dest), O(mode) and every file are checked first, then every file is written to a temporary
    file in O(dest) and renamed into place only when all of them are written; on an error nothing is written
    (no file, no temporary file, no directory this task created) and the message names the option, the value and
    what is wrong.
  - Runs on the controller only; it never connects to a managed host.
options:
  dest:
    description:
      - Directory on the controller; created when missing, with its missing parents (mode 0777 minus the umask).
        A relative path is relative to the controller's current directory.
      - An empty value is refused (it would mean the current directory), and so is a path under an existing file,
        an existing file, or a directory this user cannot write (or cannot create the missing folders in).
    type: path
    required: true
  files:
    description:
      - File name (no path separators) to content. A name that is an existing directory in O(dest) is refused.
      - An empty dict writes nothing and only checks O(dest) and O(mode), for example in check mode at the start of
        a play, before any host is touched.
    type: dict
    required: true
  mode:
    description:
      - Mode of the files written. Without it a new file gets 0666 minus the controller's umask (0644 with the
        usual umask 022) and an existing file keeps its mode, as with M(ansible.builtin.copy).
      - A quoted octal string (V("0644"), V("644"), V("0o644")) or a symbolic mode as M(ansible.builtin.file) takes
        it (V(u=rw,g=r,o=r), V(go-w), V(u+x); C(r), C(w), C(x), C(X) and copies of C(u), C(g), C(o); applied to the
        file's current mode).
      - A number is refused with a message to quote it. YAML reads an unquoted V(0644) as the number 420; turned
        back into text that is mode 0420, not 0644 (what ansible-lint's C(risky-octal) rule warns about).
      - The setuid, setgid and sticky bits (V("4755"), V(u+s), V(+t)) are refused; report files never need them.
      - A mode that lets every user of the controller write (C(o+w), such as V("0666") or V("0777")) is refused
        unless O(allow_world_writable=true).
      - With a mode, a file whose content is already right but whose mode is not gets its mode corrected.
    type: raw
  sources:
    description:
      - Report files that another task already wrote on the controller, added to O(files) under their base name (read
        as UTF-8 text), for example to publish the reports of M(mecm.fieldkit.sccm_dp_report) with O(publish_dest).
      - A file that cannot be read, or whose base name is not a plain file name or is already one of the files, is
        refused.
    type: list
    elements: path
    default: []
  publish_dest:
    description:
      - A second directory on the controller that receives the same files, for example a share mounted into an
        execution environment or a path that outlives an AWX job's container (the playbooks set it from the variable
        C(fieldkit_report_publish_dir)).
      - It is checked like O(dest) before anything is written; then O(dest) is written, then O(publish_dest), each all
        or nothing. Unset or empty publishes nothing.
    type: path
  allow_world_writable:
    description:
      - Allow a O(mode) that lets every user of the controller write the files (C(o+w)).
      - Off by default, because another user could then change a report that CI or an audit trusts.
    type: bool
    default: false
notes:
  - In check mode nothing is written; playbooks that want their reports in check mode too set C(check_mode=false)
    on the task, as the collection's playbooks do. The checks of O(dest), O(files) and O(mode) run in check mode
    too.
  - Without O(mode), a umask of 0000 gives new files mode 0666; the world-writable refusal applies to O(mode) only.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
author:
  - mecm.fieldkit contributors (@mecm-fieldkit)
"""

EXAMPLES = r"""
- name: Write the image-prep reports (one JSON per host, summary, JUnit XML)
  mecm.fieldkit.report_files:
    dest: reports/client_image_prep
    files: "{{ hostvars | mecm.fieldkit.image_prep_records(ansible_play_hosts_all) | mecm.fieldkit.image_prep_report_files }}"
  run_once: true
  check_mode: false

- name: Write a text file and a JSON file, readable by the owner and the group only
  mecm.fieldkit.report_files:
    dest: /srv/ci/out
    mode: "0640"  # quoted: an unquoted 0640 is the number 416 in YAML and is refused
    files:
      README.txt: "Generated by Ansible\n"
      data.json: {hosts: 3, failed: 0}

- name: Publish the files another task wrote into a share mounted on the controller (AWX, execution environments)
  mecm.fieldkit.report_files:
    dest: reports/dp_diagnose
    files: {}
    sources: "{{ dp_report.files.values() | list }}"
    publish_dest: /mnt/reports/dp_diagnose
  run_once: true
  check_mode: false

- name: Check the report directory before any host is touched (writes nothing)
  mecm.fieldkit.report_files:
    dest: "{{ report_dir }}"
    files: {}
  run_once: true
  check_mode: true
"""

RETURN = r"""
dest:
  description: The directory, as an absolute path.
  returned: always
  type: str
  sample: /home/ci/reports/client_image_prep
files:
  description: Every file of the task, absolute paths.
  returned: always
  type: list
  elements: str
  sample: [/home/ci/reports/client_image_prep/ref-01.json]
changed_files:
  description: The files written or whose mode was corrected (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [/home/ci/reports/client_image_prep/ref-01.json]
publish_dest:
  description: The directory of O(publish_dest), as an absolute path; null when nothing is published.
  returned: always
  type: str
  sample: /mnt/reports/client_image_prep
published_files:
  description: Every file written (or, in check mode, that would be written) into O(publish_dest); empty without it.
  returned: always
  type: list
  elements: str
  sample: [/mnt/reports/client_image_prep/ref-01.json]
"""
