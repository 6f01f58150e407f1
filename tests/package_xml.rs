//! Static checks of the colcon packaging, which cannot run here (no ROS 2):
//! package.xml is a well-formed format 3 manifest of an ament_cargo package
//! that agrees with Cargo.toml, and what Cargo.toml asks cargo-ament-build to
//! install exists.

use std::path::{Path, PathBuf};

use xml::reader::{EventReader, XmlEvent};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// One element: its path from the root (`package/export/build_type`), its
/// attributes and its text.
#[derive(Debug)]
struct Element {
    path: String,
    attrs: Vec<(String, String)>,
    text: String,
}

/// Every element of an XML file in document order; a parse error (unclosed
/// tag, bad entity, two roots) fails the test.
fn elements(path: &Path) -> Vec<Element> {
    let file = std::fs::File::open(path).unwrap();
    let mut stack: Vec<usize> = Vec::new();
    let mut out: Vec<Element> = Vec::new();
    for event in EventReader::new(std::io::BufReader::new(file)) {
        match event.unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display())) {
            XmlEvent::StartElement {
                name, attributes, ..
            } => {
                let parent = stack.last().map(|&i| out[i].path.clone());
                let path = match parent {
                    Some(p) => format!("{p}/{}", name.local_name),
                    None => name.local_name,
                };
                let attrs = attributes
                    .into_iter()
                    .map(|a| (a.name.local_name, a.value))
                    .collect();
                stack.push(out.len());
                out.push(Element {
                    path,
                    attrs,
                    text: String::new(),
                });
            }
            XmlEvent::Characters(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t);
                }
            }
            XmlEvent::EndElement { .. } => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

fn only<'a>(els: &'a [Element], path: &str) -> &'a Element {
    let found: Vec<&Element> = els.iter().filter(|e| e.path == path).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one <{path}>, got {found:?}"
    );
    found[0]
}

fn attr<'a>(el: &'a Element, key: &str) -> Option<&'a str> {
    el.attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn package_xml_is_format3_ament_cargo_matching_cargo_toml() {
    let els = elements(&repo("package.xml"));
    let root = &els[0];
    assert_eq!(root.path, "package", "root element");
    assert_eq!(attr(root, "format"), Some("3"), "package format");

    // Format 3 requires these, in this order.
    let order: Vec<&str> = els
        .iter()
        .filter(|e| e.path.matches('/').count() == 1)
        .map(|e| e.path.trim_start_matches("package/"))
        .collect();
    let required = ["name", "version", "description", "maintainer", "license"];
    let positions: Vec<usize> = required
        .iter()
        .map(|r| {
            order
                .iter()
                .position(|o| o == r)
                .unwrap_or_else(|| panic!("<{r}> missing"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "required elements out of order: {order:?}"
    );

    assert_eq!(
        only(&els, "package/name").text.trim(),
        env!("CARGO_PKG_NAME")
    );
    assert_eq!(
        only(&els, "package/version").text.trim(),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        only(&els, "package/license").text.trim(),
        env!("CARGO_PKG_LICENSE")
    );
    let maintainer = els.iter().find(|e| e.path == "package/maintainer").unwrap();
    assert!(
        attr(maintainer, "email").is_some_and(|e| e.contains('@')),
        "maintainer needs an email"
    );
    assert_eq!(
        only(&els, "package/export/build_type").text.trim(),
        "ament_cargo"
    );

    // The messages the node publishes and subscribes must be dependencies,
    // or colcon may build the node before their bindings exist.
    let deps: Vec<&str> = els
        .iter()
        .filter(|e| e.path == "package/depend")
        .map(|e| e.text.trim())
        .collect();
    for pkg in [
        "std_msgs",
        "sensor_msgs",
        "trajectory_msgs",
        "builtin_interfaces",
    ] {
        assert!(deps.contains(&pkg), "<depend>{pkg}</depend> missing");
    }
}

#[test]
fn ament_install_dirs_exist() {
    let cargo = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let line = cargo
        .lines()
        .find(|l| l.trim_start().starts_with("install_to_share"))
        .expect("[package.metadata.ros] install_to_share");
    let list = line.split_once('=').unwrap().1;
    let dirs: Vec<&str> = list
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|d| d.trim().trim_matches('"'))
        .filter(|d| !d.is_empty())
        .collect();
    assert!(
        dirs.contains(&"launch") && dirs.contains(&"config"),
        "{dirs:?}"
    );
    for d in dirs {
        assert!(
            repo(d).is_dir(),
            "install_to_share names {d}, not a directory"
        );
    }
}
