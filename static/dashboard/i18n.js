// Labels in Chinese (the default) and English; the toggle re-renders every [data-i18n] element and the panels.
const STRINGS = {
  title: ["宝鸡市域社会治理指挥中心", "Baoji Social Governance Command Centre"],
  subtitle: ["全要素网格 · citygrid", "Integrated grids · citygrid"],
  from: ["起", "From"], to: ["止", "To"], categories: ["事件类别", "Categories"], apply: ["查询", "Apply"],
  save: ["保存令牌", "Save token"], scope: ["当前范围", "Current area"], counts: ["分类统计", "Counts by category"],
  compare: ["环比变化", "Change on the prior period"],
  zero: ["零发案社区", "Zero-incident communities"], disputes: ["矛盾纠纷化解", "Dispute resolution"],
  top: ["高发网格", "Top grids"], live: ["指挥地图", "Command map"],
  total: ["合计", "Total"], category: ["类别", "Category"], current: ["本期", "Current"],
  previous: ["上期", "Previous"], change: ["变化", "Change"], z: ["z 值", "z"],
  logged: ["登记", "Logged"], mediated: ["调解", "Mediated"], resolved: ["化解", "Resolved"],
  grid: ["网格", "Grid"], community: ["社区", "Community"], incidents: ["事件数", "Incidents"],
  rate: ["每千户", "Per 1,000 hh"], of: ["共", "of"], communities: ["个村/社区", "villages/communities"],
  incidentsPerGrid: ["网格事件数", "Incidents per grid"], none: ["无", "none"],
  clickHint: ["点击区域下钻", "Click an area to drill down"], loading: ["加载中…", "Loading…"],
  needToken: ["请输入 API 令牌", "Enter an API token"], badToken: ["令牌无效或无权限", "Token refused"],
  failed: ["加载失败", "Failed to load"], gridLevel: ["网格级：无下级", "Grid level: nothing below"],
  significant: ["显著：两泊松计数精确检验，BH 校正", "significant: exact two-Poisson test, BH-corrected"],
  reading: ["判断", "Reading"], noData: ["无数据", "no data"], partial: ["数据不全", "partial data"],
  sigUp: ["显著上升", "significant rise"], sigDown: ["显著下降", "significant fall"], notSig: ["无显著变化", "no real change"],
  compareNoData: ["对比时段无数据：不计变化", "The comparison period has no data: no change is stated"], window: ["时段", "Period"],
  previousWindow: ["对比时段", "Compared with"], households: ["户数", "Households"],
  notForGrid: ["网格级不适用", "Not available for a single grid"], worker: ["网格员", "Grid worker"],
  patrols: ["社区巡逻", "Community patrols"], pickCommunity: ["下钻到村/社区查看巡逻路线", "Drill down to a community to see its patrols"],
  map: ["地图", "Map"], gridsCovered: ["网格覆盖", "Grids covered"], withinReach: ["近28天事件在巡逻范围内", "Incidents of the last 28 days within reach"],
  noRoutes: ["无巡逻路线", "No patrol routes"],
  overview: ["概览", "Overview"], grids: ["个网格", "grids"], renovated: ["个老旧小区已整治", "compounds renovated"],
  yoy: ["同比（对比", "Year on year (against"], noBase: ["上年同期无数据，不计变化", "no data a year earlier: no change"],
  briefing: ["下载简报 PDF", "Download the briefing (PDF)"], contacts: ["联系人", "Who to call"],
  police: ["社区民警", "Community police"], masked: ["电话已隐去中间四位（当前角色不可见）", "Phones masked for your role"],
  pickGrid: ["下钻到网格查看网格员", "Drill down to a grid to see its worker"], suggest: ["建议巡逻", "Suggest a patrol"],
  savePatrol: ["保存为巡逻路线", "Save as a patrol route"], saved: ["已保存", "Saved"],
  noStop: ["班次内无可到达的点位", "No stop fits in the shift"], noOfficer: ["该社区无民警", "No officer in this community"],
};

let lang = localStorage.getItem("citygrid.lang") || "zh";

export function t(key) {
  const pair = STRINGS[key];
  return pair ? pair[lang === "zh" ? 0 : 1] : key;
}

export function pick(zh, en) {
  return lang === "zh" ? zh : en;
}

export function currentLang() {
  return lang;
}

export function applyLabels(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  const button = document.getElementById("lang");
  if (button) button.textContent = lang === "zh" ? "EN" : "中文";
}

export function toggleLang() {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("citygrid.lang", lang);
  applyLabels();
}
